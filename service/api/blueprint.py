"""The Blueprint every resource uses: unknown query parameters are an error, like unknown body
fields, so a mistyped filter (`?langauge=ru`) fails loudly instead of returning everything."""

import flask_smorest
from webargs.flaskparser import FlaskParser


class StrictParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION: dict = {}  # defer to each schema's Meta.unknown (RAISE)

    def _raw_load_json(self, req):
        # json.loads recurses: "[[[[...]]]]" deep enough raises RecursionError, not ValueError.
        try:
            return super()._raw_load_json(req)
        except RecursionError as exc:
            return self._handle_invalid_json_error(ValueError("nested too deeply"), req, exc)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()
