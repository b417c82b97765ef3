"""The stack usermgmt replaces: Flask 3, Flask-SQLAlchemy, Flask-JWT-Extended, psycopg2.

The routes of the original learning project: register, login, the current
user, and a paginated user list in creation order (Flask-SQLAlchemy's
``paginate``: COUNT(*) and OFFSET); plus the same list in primary-key order, for
comparison. Passwords are hashed with argon2-cffi at its default parameters.

Run:  gunicorn --workers N flask_app:app   (BENCH_DATABASE_URL, BENCH_JWT_SECRET)
Init: python flask_app.py init-db
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from flask import Flask, abort, jsonify, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    get_jwt,
    get_jwt_identity,
    jwt_required,
)
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/bench_flask"
)
app.config["JWT_SECRET_KEY"] = os.environ.get(
    "BENCH_JWT_SECRET", "bench-secret-bench-secret-bench-secret"
)
app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(minutes=15)

db = SQLAlchemy(app)
jwt = JWTManager(app)
hasher = PasswordHasher()


def _now() -> datetime:
    return datetime.now(UTC)


class User(db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), unique=True, nullable=False)
    name = db.Column(db.String(200), nullable=False, default="")
    password_hash = db.Column(db.String(255), nullable=False)
    is_admin = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=_now)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "is_admin": self.is_admin,
            "created_at": self.created_at.isoformat(),
        }


@app.post("/api/users/register")
def register() -> tuple[object, int]:
    data = request.get_json(silent=True) or {}
    email = str(data.get("email", "")).strip().lower()
    password = str(data.get("password", ""))
    if "@" not in email or len(password) < 8:
        return jsonify(error="invalid email or password"), 422
    if User.query.filter_by(email=email).first() is not None:
        return jsonify(error="email already registered"), 409
    user = User(email=email, name=str(data.get("name", "")), password_hash=hasher.hash(password))
    db.session.add(user)
    db.session.commit()
    return jsonify(user.to_dict()), 201


@app.post("/api/auth/login")
def login() -> tuple[object, int]:
    data = request.get_json(silent=True) or {}
    email = str(data.get("email", "")).strip().lower()
    user = User.query.filter_by(email=email).first()
    try:
        ok = user is not None and hasher.verify(user.password_hash, str(data.get("password", "")))
    except VerificationError:
        ok = False
    if not ok:
        return jsonify(error="invalid credentials"), 401
    claims = {"is_admin": user.is_admin}
    return jsonify(
        access_token=create_access_token(identity=str(user.id), additional_claims=claims),
        refresh_token=create_refresh_token(identity=str(user.id)),
        token_type="bearer",  # noqa: S106 - the token type, not a secret
    ), 200


@app.get("/api/auth/me")
@jwt_required()
def me() -> tuple[object, int]:
    user = db.session.get(User, int(get_jwt_identity()))
    if user is None:
        abort(404)
    return jsonify(user.to_dict()), 200


def _page(order: object) -> tuple[object, int]:
    if not get_jwt().get("is_admin"):
        return jsonify(error="admins only"), 403
    page = request.args.get("page", 1, type=int)
    per_page = request.args.get("per_page", 20, type=int)
    result = User.query.order_by(order).paginate(page=page, per_page=per_page, max_per_page=100)
    return jsonify(
        items=[u.to_dict() for u in result.items],
        page=result.page,
        per_page=result.per_page,
        total=result.total,
        pages=result.pages,
    ), 200


@app.get("/api/users/")
@jwt_required()
def list_users() -> tuple[object, int]:
    # Creation order, as the original project listed users; its schema has no index on
    # created_at, so a deep page sorts the table (and paginate() counts it).
    return _page(User.created_at)


@app.get("/api/users/by-id/")
@jwt_required()
def list_users_by_id() -> tuple[object, int]:
    # Not in the original project: the same page in primary-key order, which an index
    # serves, to show what the offset costs without the sort.
    return _page(User.id)


if __name__ == "__main__":
    if sys.argv[1:] != ["init-db"]:
        sys.exit("usage: python flask_app.py init-db")
    with app.app_context():
        db.create_all()
