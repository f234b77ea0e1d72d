"""The portal's routes (Django URLconf). Ids in paths are integers or tokens, nothing else."""

from django.urls import path

from . import views

handler500 = "partnerschap_eval.portal.views.server_error"

urlpatterns = [
    path("", views.home),
    path("link/<str:token>", views.link),
    path("logout", views.logout),
    path("school", views.school),
    path("school/upload", views.upload),
    path("submission/<int:feedback_id>", views.submission),
    path("research", views.research),
    path("research/report", views.report),
    path("research/revoke", views.revoke),
    path("research/link", views.new_link),
    path("static/portal.css", views.style),
    path("favicon.ico", views.no_icon),
]
