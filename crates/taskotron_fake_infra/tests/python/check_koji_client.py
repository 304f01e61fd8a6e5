"""Koji's own client library (koji on PyPI) against `taskotron fake-infra`.

Usage: check_koji_client.py HUB_URL TOPURL

Run by tests/koji_python.rs with the fixtures of tests/common/mod.rs.
Every call Taskotron makes, made the way Fedora's tools make it; exits
non-zero at the first answer that differs from what a real hub gives.
"""

import hashlib
import sys
import tempfile

import koji
import requests


def check(hub, topurl):
    session = koji.ClientSession(hub, opts={"anon_retry": False, "max_retries": 0})
    complete = koji.BUILD_STATES["COMPLETE"]

    build = session.getBuild("tk-hello-1.2-3.fc44")
    assert build["nvr"] == "tk-hello-1.2-3.fc44", build
    assert build["id"] == build["build_id"], build
    assert build["owner_name"] == "alice", build
    assert build["state"] == complete, build
    assert build["task_id"] == 140000001, build
    assert build["volume_name"] == "DEFAULT", build
    assert session.getBuild(build["id"])["nvr"] == build["nvr"]
    assert session.getBuild("nope-1-1") is None
    try:
        session.getBuild("nope-1-1", strict=True)
    except koji.GenericError as err:
        assert "nope-1-1" in str(err), err
    else:
        raise AssertionError("getBuild(strict=True) of a missing build did not fail")

    builds = session.listBuilds(
        state=complete,
        completeAfter=1793520000.0,
        queryOpts={"order": "completion_time"},
    )
    assert [it["nvr"] for it in builds] == ["tk-other-1.1-1.fc44", "tk-hello-1.2-3.fc44"], builds
    text_bound = session.listBuilds(state=complete, completeBefore="2026-11-05 00:00:00")
    assert [it["nvr"] for it in text_bound] == ["tk-other-1.0-1.fc44"], text_bound
    count = session.listBuilds(queryOpts={"countOnly": True})
    assert count == 4, count

    with session.multicall() as multi:
        other = multi.getBuild("tk-other-1.0-1.fc44")
        missing = multi.getBuild("missing-1-1")
        event = multi.getLastEvent()
    assert other.result["epoch"] == 2, other.result
    assert missing.result is None
    assert event.result["id"] >= 1000, event.result

    # Not strict: the other calls' results stand, the failed one raises
    # when read.
    multi = session.multicall(strict=False)
    bad = multi.listTagged("f99-nope")
    good = multi.getBuild(build["id"])
    multi.call_all()
    assert good.result["nvr"] == build["nvr"], good.result
    try:
        bad.result
    except koji.GenericError as err:
        assert "f99-nope" in str(err), err
    else:
        raise AssertionError("listTagged of a missing tag in a multicall did not fail")

    latest = session.getLatestBuilds("f44")
    assert [it["nvr"] for it in latest] == ["tk-other-1.1-1.fc44"], latest
    tagged = session.listTagged("f44", latest=False)
    assert sorted(it["nvr"] for it in tagged) == ["tk-other-1.0-1.fc44", "tk-other-1.1-1.fc44"], tagged
    try:
        session.listTagged("f99-nope")
    except koji.GenericError:
        pass
    else:
        raise AssertionError("listTagged of a missing tag did not fail")

    history = session.queryHistory(tables=["tag_listing"], tag="f44-updates-candidate")["tag_listing"]
    assert [(it["name"], it["version"]) for it in history] == [("tk-other", "1.1"), ("tk-hello", "1.2")], history
    last = session.getLastEvent()
    assert session.queryHistory(tables=["tag_listing"], afterEvent=last["id"])["tag_listing"] == []

    task = session.getTaskInfo(140000001, request=True)
    assert task["method"] == "build" and task["state"] == koji.TASK_STATES["CLOSED"], task
    assert isinstance(task["request"], list), task

    paths = koji.PathInfo(topdir=topurl)
    rpms = session.listRPMs(buildID=build["id"])
    assert sorted(it["arch"] for it in rpms) == ["noarch", "noarch", "src"], rpms
    for rpm in rpms:
        url = paths.build(build) + "/" + paths.rpm(rpm)
        response = requests.get(url, timeout=30)
        response.raise_for_status()
        data = response.content
        assert len(data) == rpm["size"], (url, len(data), rpm["size"])
        with tempfile.NamedTemporaryFile(suffix=".rpm") as tmp:
            tmp.write(data)
            tmp.flush()
            start, size = koji.find_rpm_sighdr(tmp.name)
        digest = hashlib.md5(data[start + size:]).hexdigest()
        assert digest == rpm["payloadhash"], (url, digest, rpm["payloadhash"])
    log = requests.get(paths.build_logs(build) + "/noarch/build.log", timeout=30)
    log.raise_for_status()
    assert build["nvr"] in log.text, log.text


if __name__ == "__main__":
    check(sys.argv[1], sys.argv[2])
    print("koji client checks passed")
