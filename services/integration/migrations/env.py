from servicekit.alembic_env import run

run()
