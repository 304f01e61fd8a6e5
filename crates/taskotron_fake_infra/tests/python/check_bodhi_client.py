"""bodhi-client (from PyPI) against `taskotron fake-infra`'s Bodhi.

Usage: check_bodhi_client.py BASE_URL ID_PROVIDER_URL

bodhi-client reads its OpenID Connect provider's metadata when it starts;
the fake serves that too, so nothing leaves the machine.

Run by tests/bodhi.rs with the fixtures of tests/common/mod.rs; exits
non-zero at the first answer that differs from what Bodhi gives.
"""

import sys

from bodhi.client.bindings import BodhiClient, BodhiClientException


def check(base, id_provider):
    client = BodhiClient(base_url=base, id_provider=id_provider)

    found = client.query(builds="tk-hello-1.2-3.fc44")
    assert found.total == 1, found
    update = found.updates[0]
    assert update.alias == "FEDORA-2026-0000000001", update
    assert update.release.name == "F44", update
    assert update.user.name == "alice", update
    assert [build.nvr for build in update.builds] == ["tk-hello-1.2-3.fc44"], update

    paged = client.query(releases=["F44"], rows_per_page=1, page=2)
    assert (paged.page, paged.pages, paged.total) == (2, 2, 2), paged
    assert paged.updates[0].alias == "FEDORA-2026-0000000002", paged

    testing = client.query(status="testing", submitted_since="2026-11-15 00:00:00")
    assert [it.alias for it in testing.updates] == ["FEDORA-2026-0000000001"], testing

    one = client.send_request("updates/FEDORA-2026-0000000002", verb="GET")
    assert one["update"]["status"] == "stable", one

    releases = client.get_releases(name="F44")
    assert [it.candidate_tag for it in releases.releases] == ["f44-updates-candidate"], releases

    try:
        client.query(releases=["F99"])
    except BodhiClientException as err:
        assert "F99" in str(err), err
    else:
        raise AssertionError("a query of an unknown release did not fail")


if __name__ == "__main__":
    check(sys.argv[1], sys.argv[2])
    print("bodhi-client checks passed")
