"""The Blueprint every resource uses: unknown query parameters are an error, like unknown body
fields, so a mistyped filter (`?langauge=ru`) fails loudly instead of returning everything."""

import flask_smorest
from webargs.flaskparser import FlaskParser


class StrictParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION: dict = {}  # defer to each schema's Meta.unknown (RAISE)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()
