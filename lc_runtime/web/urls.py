"""URLs of the runtime; mount them at ``LC_RUNTIME["HANDLER_URL_PREFIX"]`` (``/lc-runtime/`` by default)."""

from django.urls import path

from lc_runtime.web import asset_views, views

app_name = "lc_runtime"

urlpatterns = [
    path(
        "handler/<str:mode>/<str:access>/<str:usage_key>/<str:user>/<str:token>/<str:handler>/<path:suffix>",
        views.handler_view,
        name="handler",
    ),
    path(
        "handler/<str:mode>/<str:access>/<str:usage_key>/<str:user>/<str:token>/<str:handler>/",
        views.handler_view,
        name="handler-no-suffix",
    ),
    path("resource/<str:block_type>/<path:uri>", views.local_resource_view, name="local-resource"),
    *asset_views.urlpatterns,  # course static files and /jump_to_id/ targets
]
