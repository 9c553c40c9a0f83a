"""URLs for running lc-runtime on its own: the runtime's endpoints plus what the core blocks reverse."""

from django.urls import include, path

urlpatterns = [
    path("lc-runtime/", include("lc_runtime.web.urls")),
    path("edxval/", include("edxval.urls")),
    # The workbench (lc-runtime serve): course runs, outlines, blocks in a browser.
    path("", include("lc_runtime.workbench.urls")),
]
