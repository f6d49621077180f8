from django.urls import re_path

from apps.equipment import feeds

app_name = "equipment_feeds"

urlpatterns = [
    re_path(r"^equipment/(?P<token>[-\w]+)\.ics$", feeds.equipment_feed, name="equipment"),
    re_path(r"^member/(?P<token>[-\w]+)\.ics$", feeds.member_feed, name="member"),
]
