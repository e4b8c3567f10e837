"""Import real data: CAD/RMS exports, boundaries, deployments and the call-type crosswalk.

Entry points (PRODUCT.md sections 2 and 8; format of presets in ``docs/importing.md``):

- :func:`import_file` — one file into one canonical table, atomic and idempotent.
- :func:`load_preset`, :func:`load_preset_file`, :func:`list_presets`, :func:`save_preset`.
- :func:`suggest_mapping`, :func:`preview` — the mapping assistant behind the Data page.
"""

from analytics.ingest._load import (
    CheckResult,
    ImportResult,
    Reject,
    check_file,
    import_file,
    import_frame,
    rejects_dir_for,
    upsert,
)
from analytics.ingest._mapping import (
    OUTCOME_FILTERED,
    OUTCOME_KEPT,
    PROFILE_ROWS,
    MappingRow,
    area_choices,
    area_summary,
    column_values,
    combo_headers,
    geojson_properties,
    guess_time_formats,
    guess_unit_type,
    import_history,
    import_rejects,
    list_user_presets,
    mapping_examples,
    mapping_to_preset,
    preview,
    read_sample,
    suggest_mapping,
    table_frame,
    user_preset_dir,
)
from analytics.ingest._presets import (
    Preset,
    list_presets,
    load_preset,
    load_preset_file,
    parse_preset,
    preset_to_toml,
    save_preset,
)
from analytics.ingest._spec import SPECS, TABLE_NAMES

__all__ = [
    "OUTCOME_FILTERED",
    "OUTCOME_KEPT",
    "PROFILE_ROWS",
    "column_values",
    "combo_headers",
    "mapping_examples",
    "SPECS",
    "area_choices",
    "area_summary",
    "geojson_properties",
    "guess_time_formats",
    "guess_unit_type",
    "list_user_presets",
    "table_frame",
    "user_preset_dir",
    "TABLE_NAMES",
    "CheckResult",
    "ImportResult",
    "MappingRow",
    "Preset",
    "Reject",
    "check_file",
    "import_file",
    "import_frame",
    "import_history",
    "import_rejects",
    "list_presets",
    "load_preset",
    "load_preset_file",
    "mapping_to_preset",
    "parse_preset",
    "preset_to_toml",
    "preview",
    "read_sample",
    "rejects_dir_for",
    "save_preset",
    "suggest_mapping",
    "upsert",
]
