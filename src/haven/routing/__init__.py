"""Risk-aware routing on an imported OpenStreetMap road network (see docs/routing.md).

Modules, one job each: ``osm`` (read drivable ways), ``build`` (ways → graph),
``network`` (the CSR arrays and their file), ``spatial`` (snapping, edge search),
``engine`` (the customizable contraction hierarchy), ``trips`` (paths between
points snapped onto roads), ``closures`` (closures,
checkpoints, no-go areas), ``proposals`` (closures proposed from obstruction
incidents), ``conditions`` (closures and incident risk → edge weights), ``routes``
(routes and travel-time matrices), ``store`` (import, load),
``demo`` (the exercise scenario). Import the public names from ``haven.routing``.
"""

from haven.errors import NoRoute
from haven.routing.closures import (
    Closure,
    ClosureIn,
    ClosureKind,
    ClosureSource,
    active_closures,
    closure_polygon,
    create_closure,
    end_closure,
    get_closure,
    list_closures,
)
from haven.routing.network import RoadNetwork
from haven.routing.routes import (
    NearClosure,
    NearIncident,
    Route,
    RouteMode,
    TravelMatrix,
    route,
    travel_matrix,
    visible_near,
)
from haven.routing.store import RoadImport, import_network, latest_import, load_network

__all__ = [
    "Closure",
    "ClosureIn",
    "ClosureKind",
    "ClosureSource",
    "NearClosure",
    "NearIncident",
    "NoRoute",
    "RoadImport",
    "RoadNetwork",
    "Route",
    "RouteMode",
    "TravelMatrix",
    "active_closures",
    "closure_polygon",
    "create_closure",
    "end_closure",
    "get_closure",
    "import_network",
    "latest_import",
    "list_closures",
    "load_network",
    "route",
    "travel_matrix",
    "visible_near",
]
