"""The registry's importable kinds: people, companies, licences, vehicles, employments."""

from __future__ import annotations

from trafficgov.imports import fastpath
from trafficgov.imports.kinds import ImportKind, Reference, register
from trafficgov.registry import rows
from trafficgov.registry.store import CompanyRow, EmploymentRow, LicenceRow, PersonRow, VehicleRow

people = PersonRow.__table__
companies = CompanyRow.__table__

register(
    ImportKind(
        name="people",
        label_zh="人员",
        table=people,
        columns=("id_number", "name", "phone", "address", "doc_type"),
        key=("id_number",),
        parse=rows.parse_person,
        fast=fastpath.check_people,
        personal=("id_number",),
        phones=("phone",),
    )
)
register(
    ImportKind(
        name="companies",
        label_zh="企业",
        table=companies,
        columns=("uscc", "name", "kind", "address", "permit_number", "permit_valid_to"),
        key=("uscc",),
        parse=rows.parse_company,
    )
)
register(
    ImportKind(
        name="licences",
        label_zh="驾驶证",
        table=LicenceRow.__table__,
        columns=("id_number", "classes", "first_issued", "valid_from", "valid_to", "status", "school_uscc", "points", "cycle_start"),
        key=("id_number",),
        parse=rows.parse_licence,
        references=(
            Reference("id_number", ((people, "id_number"),), "持证人", "licence holder (import people first)"),
            Reference("school_uscc", ((companies, "uscc"),), "培训驾校", "driving school (import companies first)"),
        ),
        personal=("id_number",),
    )
)
register(
    ImportKind(
        name="vehicles",
        label_zh="机动车",
        table=VehicleRow.__table__,
        columns=(
            "plate_number", "plate_type", "vin", "vehicle_type", "use_nature", "owner_id", "operator_uscc",
            "rated_passengers", "rated_load_kg", "max_total_mass_kg", "axles", "registered_on",
            "inspection_due", "insurance_expiry", "status",
        ),
        key=("plate_number", "plate_type"),
        parse=rows.parse_vehicle,
        fast=fastpath.check_vehicles,
        references=(
            Reference("owner_id", ((people, "id_number"), (companies, "uscc")), "所有人", "owner (import people or companies first)"),
            Reference("operator_uscc", ((companies, "uscc"),), "挂靠/经营企业", "operating company (import companies first)"),
        ),
        unique=("vin",),
        personal=("owner_id",),
    )
)
register(
    ImportKind(
        name="employments",
        label_zh="从业关系",
        table=EmploymentRow.__table__,
        columns=("id_number", "uscc", "role", "from", "to"),
        key=("id_number", "uscc", "role", "from_date"),
        parse=rows.parse_employment,
        references=(
            Reference("id_number", ((people, "id_number"),), "从业人员", "person (import people first)"),
            Reference("uscc", ((companies, "uscc"),), "企业", "company (import companies first)"),
        ),
        renames={"from_date": "from", "to_date": "to"},
        personal=("id_number",),
    )
)
