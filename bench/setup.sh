#!/usr/bin/env bash
# Install what the benchmarks need; safe to run again (each step is skipped when done).
#
#   bash bench/setup.sh
#
# Debian packages: wrk (the HTTP load generator), pgbench (shipped by the
# postgresql-15 server package on Debian 12) and perf (for profile.py).
# Python: one virtualenv per system under test, so that no system's
# dependencies change another's, plus one for the driver and its tools
# (py-spy, matplotlib, psutil).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
venvs="$here/.venvs"
python=${PYTHON:-python3}

need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v pgbench >/dev/null || need_apt+=(postgresql-15 postgresql-client-15)
command -v psql >/dev/null || need_apt+=(postgresql-client-15)
command -v perf >/dev/null || need_apt+=(linux-perf)  # profile.py's on-CPU split (optional)
if ((${#need_apt[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

# make_venv NAME PACKAGE... : create bench/.venvs/NAME once, then (re)install PACKAGES into it.
make_venv() {
    local name=$1
    shift
    local dir="$venvs/$name"
    if [[ ! -x "$dir/bin/python" ]]; then
        "$python" -m venv "$dir"
        "$dir/bin/pip" install -q -U pip
    fi
    local stamp="$dir/.installed"
    local want="$*"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        "$dir/bin/pip" install -q "$@"
        printf '%s' "$want" >"$stamp"
    fi
}

mkdir -p "$venvs" "$here/results"
# usermgmt itself, from this checkout (editable, so a profile points at the sources).
make_venv usermgmt -e "$repo[embedded]"
# The peer everybody picks today: fastapi-users on its documented SQLAlchemy + asyncpg stack.
make_venv fastapi-users "fastapi-users[sqlalchemy]>=14" asyncpg "uvicorn[standard]"
# The stack usermgmt replaces: Flask 3, Flask-SQLAlchemy, Flask-JWT-Extended, psycopg2, gunicorn.
make_venv flask "flask>=3,<4" flask-sqlalchemy flask-jwt-extended psycopg2-binary gunicorn \
    argon2-cffi
# The driver and its tools.
make_venv tools matplotlib psutil "psycopg[binary]>=3.2" argon2-cffi py-spy pyotp

echo "wrk:      $(command -v wrk)"
echo "pgbench:  $(command -v pgbench) ($(pgbench --version))"
for v in usermgmt fastapi-users flask tools; do
    echo "venv:     $venvs/$v ($("$venvs/$v/bin/python" --version))"
done
