"""数据共享 pages through FastAPI's TestClient with real logins: a partner asks for a grant, the owner approves it
on its page, the partner reads through the page, and the person sees the read on their own page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from test_pages import log_in

from trafficgov.registry import service as registry

TODAY = datetime.now(UTC).date()


def _ask(client, dataset: str, fields: list[str], purpose: str = "transport_safety_supervision", **extra):
    return client.post("/partner/grants", data={
        "dataset": dataset, "purpose": purpose, "fields": fields, "legal_basis": "《道路运输条例》第五十三条",
        "valid_from": TODAY.isoformat(), "expires_on": (TODAY + timedelta(days=90)).isoformat(), **extra,
    })


def test_a_partner_asks_the_owner_approves_and_the_person_sees_the_read(client, loaded, accounts):
    me = accounts["citizen"]["id_number"]
    log_in(client, accounts["partner"])
    home = client.get("/partner")
    assert "共享目录" in home.text and "驾驶人记分与驾驶证状态" in home.text and "尚无共享授权" in home.text
    asked = _ask(client, "driver_points", ["name", "points"])
    assert asked.status_code == 200 and "已提交共享授权申请" in asked.text and "待审批" in asked.text
    refused = client.get("/partner/query", params={"dataset": "driver_points", "subject": me, "purpose": "transport_safety_supervision"})
    assert refused.status_code == 403 and "尚待数据所有部门批准" in refused.text

    log_in(client, accounts["legal_reviewer"])
    pending = client.get("/hub/grants")
    assert "济南市交通运输局" in pending.text and "本周期累积记分" in pending.text
    grant_id = int(pending.text.split('id="grant-')[1].split('"')[0])
    approved = client.post(f"/hub/grants/{grant_id}", data={"action": "approve", "note": ""})
    assert approved.status_code == 200 and f"授权 {grant_id}：已批准。" in approved.text

    log_in(client, accounts["partner"])
    read = client.get("/partner/query", params={"dataset": "driver_points", "subject": me, "purpose": "transport_safety_supervision"})
    assert read.status_code == 200 and "本周期累积记分" in read.text and "准驾车型" not in read.text

    log_in(client, accounts["citizen"])
    mine = client.get("/me/reads")
    assert mine.status_code == 200 and "济南市交通运输局" in mine.text and "道路运输安全监管" in mine.text and "姓名、本周期累积记分" in mine.text


def test_a_bad_request_shows_the_reason_and_keeps_the_dataset_open(client, accounts):
    log_in(client, accounts["partner"])
    page = _ask(client, "vehicle_registration", [])
    assert page.status_code == 422 and "至少申请一个字段" in page.text
    assert '<details class="dataset" open>' in page.text


def test_refusing_needs_a_reason_and_a_grant_is_decided_once(client, accounts):
    log_in(client, accounts["partner"])
    _ask(client, "vehicle_inspection_status", ["plate_number", "inspection_due"])
    log_in(client, accounts["admin"])
    page = client.get("/hub/grants")
    grant_id = int(page.text.split('id="grant-')[1].split('"')[0])
    assert client.post(f"/hub/grants/{grant_id}", data={"action": "refuse", "note": ""}).status_code == 422
    assert client.post(f"/hub/grants/{grant_id}", data={"action": "refuse", "note": "字段超出监管所需"}).status_code == 200
    again = client.post(f"/hub/grants/{grant_id}", data={"action": "approve"})
    assert again.status_code == 409 and "不予批准" in again.text


def test_staff_reads_of_the_person_are_listed_too(client, loaded, accounts):
    me = accounts["citizen"]["id_number"]
    plate = registry.plates_of_owner(loaded, me)[0]
    log_in(client, accounts["officer"])
    number, plate_type = plate.split(":")
    assert client.get(f"/vehicles/{plate_type}/{number}", params={"purpose": "case_handling"}).status_code == 200
    log_in(client, accounts["citizen"])
    mine = client.get("/me/reads")
    assert "工作人员查询" in mine.text and "案件办理" in mine.text and number in mine.text


def test_a_clerk_rebuilds_golden_records_reads_one_with_its_sources_and_decides_a_doubtful_link(client, loaded, accounts, demo_dir, tmp_path):
    import shutil

    from trafficgov.accounts.service import get_user
    from trafficgov.demo.load import sync_demo_sources
    from trafficgov.hub.golden_store import LinkReviewRow

    city = tmp_path / "city"
    shutil.copytree(demo_dir, city)
    sync_demo_sources(loaded, get_user(loaded, "admin"), city, 1)
    log_in(client, accounts["clerk"])
    built = client.post("/hub/entities/run")
    assert built.status_code == 200 and "已重建主数据" in built.text
    found = client.get("/hub/entities", params={"entity": "vehicles", "q": "鲁A"})
    key = found.text.split("key=")[1].split('"')[0]
    record = client.get(f"/hub/entities?entity=vehicles&key={key}")
    assert record.status_code == 200 and "机动车登记" in record.text and "构成记录" in record.text

    with loaded.transaction(write=True) as session:
        session.add(LinkReviewRow(entity="people", left_ref="tp_vehicle/1", right_ref="ins_ctpl/2", probability=0.91, status="pending",
                                  first_seen_at=datetime.now(UTC), last_seen_at=datetime.now(UTC)))
    queue = client.get("/hub/links")
    assert "0.910" in queue.text
    review_id = int(queue.text.split('id="review-')[1].split('"')[0])
    decided = client.post(f"/hub/links/{review_id}", data={"decision": "split", "note": "同名不同人"})
    assert decided.status_code == 200 and "确认为不同对象" in decided.text
    assert client.post(f"/hub/links/{review_id}", data={"decision": "confirm"}).status_code == 409
    log_in(client, accounts["citizen"])
    assert client.get("/hub/entities").status_code == 403


def test_a_clerk_splits_a_record_off_a_golden_record_and_every_rebuild_keeps_it_apart(client, loaded, accounts, demo_dir, tmp_path):
    import shutil

    from trafficgov.accounts.service import get_user
    from trafficgov.demo.load import sync_demo_sources
    from trafficgov.hub import golden_service

    city = tmp_path / "city"
    shutil.copytree(demo_dir, city)
    admin = get_user(loaded, "admin")
    sync_demo_sources(loaded, admin, city, 1)
    record = next(r for r in golden_service.search(loaded, admin, "vehicles", "鲁") if r["members"] >= 3)
    members = golden_service.get_record(loaded, admin, "vehicles", record["key"])["members"]
    member = next(m for m in members if m.startswith("ins_ctpl/"))
    log_in(client, accounts["clerk"])
    assert client.post("/hub/entities/split", data={"entity": "vehicles", "key": record["key"], "member": member, "note": ""}).status_code == 422
    done = client.post("/hub/entities/split", data={"entity": "vehicles", "key": record["key"], "member": member, "note": "保单车辆与登记车辆不符"})
    assert done.status_code == 200 and member.split("/")[1] not in done.text  # back on the record, without that policy
    assert member not in golden_service.get_record(loaded, admin, "vehicles", record["key"])["members"]
    golden_service.run(loaded, admin)  # a later rebuild keeps the clerk's decision
    assert member not in golden_service.get_record(loaded, admin, "vehicles", record["key"])["members"]
