"""The workbench's pages (mounted at the site's root by the standalone settings)."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.i18n import JavaScriptCatalog

from lc_runtime.workbench import views

app_name = "workbench"

urlpatterns = [
    path("", views.course_list, name="courses"),
    path("login/", auth_views.LoginView.as_view(template_name="lc_runtime/workbench/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="workbench:login"), name="logout"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="jsi18n"),
    path("course/<str:course_key>/", views.course_outline, name="outline"),
    path("course/<str:course_key>/publish/", views.publish, name="publish"),
    path("block/<str:usage_key>/", views.block_page, name="block"),
    path("block/<str:usage_key>/edit/", views.studio_page, name="studio"),
    path("workbench-static/<str:folder>/<path:path>", views.static_file, name="static"),
]
