from django.urls import path

from apps.makerspaces import views

app_name = "makerspaces"

urlpatterns = [
    path("invitations/<str:token>/", views.invitation_page, name="invitation"),
]
