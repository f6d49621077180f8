from django.urls import path

from apps.equipment import views

app_name = "equipment"

urlpatterns = [
    path("mine/", views.my_reservations_page, name="my-reservations"),
]
