"""The floor: a bare Flask app answering "hello", served by the same gunicorn as the app.

Every page's requests per second is divided by this app's, measured in the same run on the same
machine, so the ratio says what the app costs over Flask itself whatever the machine.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
