"""The real URLconf plus a few routes that exist only to drive the error handler."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework import generics, permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.serializers import UserSerializer
from apps.accounts.models import User
from makrx import urls as project_urls


class ExplodingView(APIView):
    permission_classes = [permissions.AllowAny]

    def get(self, request: Request) -> Response:
        raise RuntimeError("secret internals: password=hunter2")


def exploding_plain_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals: password=hunter2")


class UserListView(generics.ListAPIView):
    permission_classes = [permissions.AllowAny]
    serializer_class = UserSerializer
    queryset = User.objects.order_by("email")


class UserByIdView(generics.RetrieveAPIView):
    permission_classes = [permissions.AllowAny]
    serializer_class = UserSerializer
    queryset = User.objects.all()


urlpatterns = [
    path("api/v1/_test/explode", ExplodingView.as_view()),
    path("api/v1/_test/explode-plain", exploding_plain_view),
    path("api/v1/_test/users/", UserListView.as_view()),
    path("api/v1/_test/users/<uuid:pk>/", UserByIdView.as_view()),
    *project_urls.urlpatterns,
]
handler404 = project_urls.handler404
handler500 = project_urls.handler500
