"""The Chinese pages through FastAPI's TestClient with real logins, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from trafficgov.accounts.model import Role
from trafficgov.accounts.policy import role_policy


def log_in(client, account: dict):
    client.post("/logout")
    response = client.post("/login", data={"username": account["username"], "password": account["password"]})
    assert response.status_code == 200, response.text[:500]
    return response


def rows(demo_dir: Path, name: str) -> list[dict[str, str]]:
    with (demo_dir / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def someone_else(demo_dir: Path, accounts: dict) -> dict[str, str]:
    mine = accounts["citizen"]["id_number"]
    return next(p for p in rows(demo_dir, "people.csv") if p["id_number"] != mine and p["name"])


@pytest.mark.parametrize("role", list(Role))
def test_each_role_logs_in_through_the_form_and_lands_on_its_home_page(client, accounts, role):
    response = log_in(client, accounts[str(role)])
    home = role_policy(role).home
    assert response.url.path == home
    assert "退出" in response.text
    assert accounts[str(role)]["display_name"] in response.text
    assert f'href="{home}"' in response.text  # the role's nav bar holds its home page


def test_wrong_password_shows_the_form_again_with_a_chinese_message(client, accounts):
    response = client.post("/login", data={"username": accounts["clerk"]["username"], "password": "wrong"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


def test_login_never_redirects_off_the_site(client, accounts):
    account = accounts["clerk"]
    response = client.post("/login", data={**account, "next": "//evil.example/x"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/search"


@pytest.mark.parametrize(
    "path", ["/me", "/search", "/imports", "/audit", "/corrections", "/partner", "/people/371202199001241957"]
)
def test_an_anonymous_page_visit_redirects_to_login(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_a_wrong_role_gets_the_chinese_error_page_not_json(client, accounts):
    log_in(client, accounts["citizen"])
    response = client.get("/audit")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "无权访问" in response.text


def test_citizen_sees_own_licence_points_and_vehicles(client, accounts, demo_dir):
    log_in(client, accounts["citizen"])
    page = client.get("/me")
    assert page.status_code == 200
    own_id = accounts["citizen"]["id_number"]
    assert own_id in page.text  # the citizen's own number is not masked for them
    assert "本记分周期累积记分" in page.text
    assert "记分周期" in page.text
    plates = [v["plate_number"] for v in rows(demo_dir, "vehicles.csv") if v["owner_id"] == own_id]
    assert plates, "the demo citizen owns a vehicle"
    for plate in plates:
        assert plate in page.text


def test_a_citizen_cannot_open_someone_elses_person_record(client, accounts, demo_dir):
    other = someone_else(demo_dir, accounts)
    log_in(client, accounts["citizen"])
    response = client.get(f"/people/{other['id_number']}")
    assert response.status_code == 403
    assert "无权访问" in response.text
    assert other["name"] not in response.text


def test_staff_without_a_purpose_are_asked_for_one(client, accounts, demo_dir):
    other = someone_else(demo_dir, accounts)
    log_in(client, accounts["officer"])
    asked = client.get(f"/people/{other['id_number']}")
    assert asked.status_code == 200
    assert "请说明查询事由" in asked.text
    assert other["name"] not in asked.text
    from_search = client.get("/search", params={"q": other["id_number"]})
    assert "请先选择查询事由" in from_search.text
    assert other["name"] not in from_search.text
    opened = client.get(f"/people/{other['id_number']}", params={"purpose": "case_handling"})
    assert opened.status_code == 200
    assert "一人一档" in opened.text
    assert other["name"] in opened.text
    assert "查询事由：案件办理" in opened.text


def test_an_unknown_purpose_code_does_not_open_the_record(client, accounts, demo_dir):
    other = someone_else(demo_dir, accounts)
    log_in(client, accounts["clerk"])
    response = client.get(f"/people/{other['id_number']}", params={"purpose": "curiosity"})
    assert "所选查询事由无效" in response.text
    assert other["name"] not in response.text


def test_a_staff_search_finds_a_vehicle_by_plate_and_by_vin(client, accounts, demo_dir):
    vehicle = rows(demo_dir, "vehicles.csv")[0]
    log_in(client, accounts["officer"])
    found = client.get(
        "/search",
        params={
            "q": vehicle["plate_number"],
            "plate_type": vehicle["plate_type"],
            "purpose": "case_handling",
        },
    )
    assert found.status_code == 200
    assert found.url.path == f"/vehicles/{vehicle['plate_type']}/{vehicle['plate_number']}"
    assert vehicle["vin"] in found.text
    assert "本次查阅已记入审计日志" in found.text
    by_vin = client.get("/search", params={"q": vehicle["vin"].lower(), "purpose": "case_handling"})
    assert by_vin.status_code == 200
    assert vehicle["plate_number"] in by_vin.text


def test_a_staff_search_by_name_lists_companies_and_opens_one(client, accounts, demo_dir):
    company = rows(demo_dir, "companies.csv")[0]
    log_in(client, accounts["clerk"])
    listed = client.get("/search", params={"q": company["name"][2:6], "purpose": "supervision"})
    assert listed.status_code == 200
    assert company["name"] in listed.text
    opened = client.get(f"/companies/{company['uscc']}", params={"purpose": "supervision"})
    assert opened.status_code == 200
    assert "在职驾驶人" in opened.text


def test_person_record_masks_numbers_for_the_command_centre(client, accounts, demo_dir):
    other = someone_else(demo_dir, accounts)
    log_in(client, accounts["command"])
    page = client.get(f"/people/{other['id_number']}", params={"purpose": "accident_handling"})
    assert page.status_code == 200
    assert other["id_number"] not in page.text
    assert other["id_number"][:6] + "********" + other["id_number"][-4:] in page.text


def test_company_sees_its_vehicles_with_badges_and_its_drivers(client, accounts, demo_dir):
    log_in(client, accounts["company"])
    page = client.get("/me")
    assert page.status_code == 200
    assert accounts["company"]["display_name"] in page.text
    uscc = accounts["company"]["uscc"]
    plates = [
        v["plate_number"]
        for v in rows(demo_dir, "vehicles.csv")
        if uscc in (v["owner_id"], v["operator_uscc"])
    ]
    assert plates
    assert all(p in page.text for p in plates)
    assert "在职驾驶人" in page.text
    assert re.search(r'class="badge (warn|info)"[^>]*>(重点车辆|两客一危一货)<', page.text)


def test_the_import_page_shows_a_jobs_quarantine_after_an_upload_with_a_bad_row(client, accounts):
    log_in(client, accounts["admin"])
    form = client.get("/imports")
    assert "上传导入文件" in form.text
    from trafficgov.registry.identifiers import id_check_digit

    good = "11010519491231002" + id_check_digit("11010519491231002")
    bad = "37010219800101123" + ("0" if id_check_digit("37010219800101123") != "0" else "1")
    body = f"id_number,name,phone,address,doc_type\n{good},测试甲,13800000000,北京市东城区,\n{bad},测试乙,13800000001,北京市东城区,\n"
    response = client.post(
        "/imports",
        data={"kind": "people", "encoding": "utf-8"},
        files={"file": ("people-fix.csv", body.encode("utf-8"), "text/csv")},
    )
    assert response.status_code == 200
    assert re.fullmatch(r"/imports/\d+", response.url.path)
    assert "已完成" in response.text
    assert "隔离记录" in response.text
    assert f"身份证号码校验码错误：{bad}" in response.text  # line 3's check digit is wrong
    assert "check digit" in response.text
    assert '<td class="num">3</td>' in response.text
    fragment = client.get(response.url.path + "/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "hx-trigger" not in fragment.text  # a finished job stops polling
    listed = client.get("/imports")
    assert "people-fix.csv" in listed.text


def test_an_upload_with_an_unsupported_file_type_is_refused_on_the_page(client, accounts):
    log_in(client, accounts["clerk"])
    response = client.post(
        "/imports",
        data={"kind": "people", "encoding": "utf-8"},
        files={"file": ("people.xlsx", b"x", "application/octet-stream")},
    )
    assert response.status_code == 422
    assert "上传导入文件" in response.text


def test_a_correction_asked_by_the_citizen_is_approved_by_the_clerk_and_changes_the_name(client, accounts):
    log_in(client, accounts["citizen"])
    sent = client.post(
        "/me/corrections", data={"field": "name", "requested_value": "杨超崧", "reason": "户籍登记姓名为“崧”"}
    )
    assert sent.status_code == 200
    assert "更正申请已提交" in sent.text
    assert "待处理" in sent.text

    log_in(client, accounts["clerk"])
    pending = client.get("/corrections")
    assert "杨超崧" in pending.text
    number = re.search(r'action="/corrections/(\d+)/decision"', pending.text)
    assert number
    refused = client.post(f"/corrections/{number.group(1)}/decision", data={"decision": "reject", "note": ""})
    assert refused.status_code == 422
    assert "不予更正须说明理由" in refused.text
    approved = client.post(
        f"/corrections/{number.group(1)}/decision", data={"decision": "approve", "note": "已核对户籍信息"}
    )
    assert approved.status_code == 200
    assert f"申请 {number.group(1)} 已处理" in approved.text

    log_in(client, accounts["citizen"])
    page = client.get("/me")
    assert '<dd data-field="name">杨超崧</dd>' in page.text
    assert "已更正" in page.text


def test_the_history_page_shows_an_approved_correction(client, accounts):
    log_in(client, accounts["citizen"])
    client.post(
        "/me/corrections",
        data={"field": "address", "requested_value": "山东省济南市历下区泉城路1号", "reason": "搬家"},
    )
    log_in(client, accounts["clerk"])
    number = re.search(r'action="/corrections/(\d+)/decision"', client.get("/corrections").text).group(1)
    client.post(f"/corrections/{number}/decision", data={"decision": "approve", "note": ""})
    id_number = accounts["citizen"]["id_number"]
    history = client.get(f"/people/{id_number}/history", params={"purpose": "service_handling"})
    assert history.status_code == 200
    assert "泉城路1号" in history.text
    assert f"correction:{number}" in history.text


def test_the_audit_page_lists_reads_with_their_purpose_and_verifies_the_chain(client, accounts, demo_dir):
    vehicle = rows(demo_dir, "vehicles.csv")[1]
    log_in(client, accounts["officer"])
    client.get(
        f"/vehicles/{vehicle['plate_type']}/{quote(vehicle['plate_number'])}",
        params={"purpose": "accident_handling"},
    )
    log_in(client, accounts["supervisor"])
    page = client.get("/audit", params={"actor": accounts["officer"]["username"], "action": "read"})
    assert page.status_code == 200
    assert "事故处理" in page.text
    assert vehicle["plate_number"] in page.text
    assert "/api/v1/audit/export?" in page.text and "format=csv" in page.text
    verified = client.post("/audit/verify", headers={"HX-Request": "true"})
    assert verified.status_code == 200
    assert "校验通过" in verified.text
    assert "<html" not in verified.text  # htmx gets the fragment only
    export = client.get("/api/v1/audit/export", params={"format": "csv"})
    assert export.status_code == 200


def test_the_partner_page_lists_organisations_and_looks_up_a_company(client, accounts, demo_dir):
    company = rows(demo_dir, "companies.csv")[0]
    organisations = rows(demo_dir, "organisations.csv")
    own = next(o for o in organisations if o["code"] == accounts["partner"]["org_code"])
    log_in(client, accounts["partner"])
    page = client.get("/partner", params={"q": company["uscc"]})
    assert page.status_code == 200
    assert own["name"] in page.text
    assert "本单位" in page.text
    assert all(o["name"] in page.text for o in organisations)
    assert company["name"] in page.text
    assert company["address"] in page.text
    assert "在职驾驶人" not in page.text  # partners get company fields only


def test_every_page_route_declares_who_may_call_it(client):
    from fastapi.routing import APIRoute

    for route in client.app.routes:
        if isinstance(route, APIRoute) and not route.path.startswith("/api/"):
            declared = [getattr(d.call, "allowed_roles", None) for d in route.dependant.dependencies]
            assert any(declared), f"{route.path} declares no require()/public()"
