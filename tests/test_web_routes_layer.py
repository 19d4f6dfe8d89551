"""The map's corridor, closure and route layers in real headless Chromium (Helsinki roads)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haven import corridor_demo
from haven.accounts import Role
from haven.routing import load_network
from haven.routing.demo import load_demo as load_routing_demo
from tests.support.browser import LiveServer, live_server, sign_in_page, watch_errors

Browser = Any  # playwright.sync_api.Browser (imported only when Chromium is there)
Page = Any


@pytest.fixture
def server(tmp_path: Path, datasets: Path) -> Iterator[LiveServer]:
    """Haven with the Helsinki roads, the EXERCISE closure, corridor and plan, and a verifier."""
    live = live_server(tmp_path / "haven")
    load_routing_demo(live.db, settings=live.settings, datasets=datasets)
    corridor_demo.load_demo(live.db, settings=live.settings, datasets=datasets)
    live.add_user("vera.verifier", role=Role.VERIFIER)
    yield live
    live.stop()


def _ends(server: LiveServer) -> tuple[str, str]:
    with server.db.read() as session:
        net = load_network(session, server.settings)
    west, south, east, north = net.bounds()
    mid = (south + north) / 2
    return (
        f"{mid:.5f},{west + (east - west) * 0.2:.5f}",
        f"{mid:.5f},{west + (east - west) * 0.8:.5f}",
    )


def _overlays(page: Page) -> int:
    return int(page.locator(".leaflet-overlay-pane path").count())


def test_corridors_and_closures_are_drawn_on_demand(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    asked: list[str] = []
    page.on(
        "request",
        lambda r: (
            asked.append(r.url) if "/api/corridors" in r.url or "/api/closures" in r.url else None
        ),
    )
    sign_in_page(page, server, username="vera.verifier", to="/map")
    assert asked == []  # nothing fetched until a layer is switched on
    page.hover(".leaflet-control-layers")
    before = _overlays(page)
    toggle = page.locator(
        ".leaflet-control-layers-overlays label", has_text="Humanitarian corridors"
    )
    with page.expect_response(lambda r: r.url.endswith("/api/corridors")) as answer:
        toggle.locator("input").check()
    [corridor] = answer.value.json()
    assert corridor["exercise"] and corridor["status"] in {"open", "restricted", "closed"}
    page.wait_for_function(
        f"() => document.querySelectorAll('.leaflet-overlay-pane path').length > {before}"
    )
    drawn = _overlays(page)
    closures = page.locator(".leaflet-control-layers-overlays label", has_text="Road closures")
    with page.expect_response(lambda r: "/api/closures" in r.url) as answer:
        closures.locator("input").check()
    assert len(answer.value.json()) == 1
    page.wait_for_function(
        f"() => document.querySelectorAll('.leaflet-overlay-pane path').length > {drawn}"
    )
    assert errors == []
    context.close()


def test_the_route_tool_draws_the_route_and_says_how_long(
    browser: Browser, server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_page(page, server, username="vera.verifier", to="/map")
    start, end = _ends(server)
    before = _overlays(page)
    page.fill("#r-from", start)
    page.fill("#r-to", end)
    page.select_option("#r-mode", "safest")
    with page.expect_response(lambda r: "/api/route?" in r.url) as answer:
        page.click("#route-tool button[type=submit]")
    assert answer.value.status == 200
    assert "mode=safest" in answer.value.url
    page.wait_for_selector("#route-result[data-state=found]")
    assert " min · " in page.inner_text("#route-result")
    assert _overlays(page) > before
    page.fill("#r-to", "10,10")  # off the network: the server's reason is shown
    page.click("#route-tool button[type=submit]")
    page.wait_for_selector("#route-result[data-state=error]")
    assert page.inner_text("#route-result")
    assert errors == [e for e in errors if "422" in e]  # only the refused request is logged
    context.close()
