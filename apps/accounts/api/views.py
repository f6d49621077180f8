from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts import services
from apps.accounts.api import serializers as s
from apps.accounts.api.presenters import user_row
from apps.accounts.authentication import CsrfSessionAuthentication
from apps.accounts.models import User
from apps.core.api.actors import acting_user
from apps.core.api.concurrency import etag_for, if_match
from apps.core.api.serializers import ErrorSerializer
from apps.core.api.throttles import ScopedRateThrottle
from apps.core.net import client_address

ERROR = OpenApiResponse(ErrorSerializer, description="Error envelope")


def _expires_in() -> int:
    return int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds())


def _token_pair(refresh: RefreshToken) -> dict[str, object]:
    return {
        "access_token": str(refresh.access_token),
        "refresh_token": str(refresh),
        "token_type": "bearer",
        "expires_in": _expires_in(),
    }


def _client_ip(request: Request) -> str:
    return client_address(request)


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        operation_id="users_register",
        request=s.RegisterSerializer,
        responses={201: s.UserSerializer, 400: ERROR, 429: ERROR},
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.user_register(
            email=data["email"],
            name=data["name"],
            password=data["password"],
            locale=data["locale"],
            phone=data["phone"],
        )
        return Response(s.UserSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="users_login",
        request=s.LoginSerializer,
        responses={200: s.TokenPairSerializer, 400: ERROR, 401: ERROR, 429: ERROR},
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_login(
            email=serializer.validated_data["email"],
            password=serializer.validated_data["password"],
            ip=_client_ip(request),
        )
        refresh = services.session_start(user=user)
        User.objects.filter(pk=user.pk).update(last_login=refresh.current_time)
        return Response(
            {
                "access_token": str(refresh.access_token),
                "refresh_token": str(refresh),
                "token_type": "bearer",
                "expires_in": _expires_in(),
                "user": s.UserSerializer(user).data,
            }
        )


class TokenRefreshView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="users_token_refresh",
        request=s.RefreshTokenInputSerializer,
        responses={200: s.RefreshedTokenSerializer, 400: ERROR, 401: ERROR},
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        given = s.RefreshTokenInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        refresh = services.session_refresh(refresh_token=given.validated_data["refresh_token"])
        return Response(_token_pair(refresh))


class LogoutView(APIView):
    permission_classes = [permissions.AllowAny]

    def perform_authentication(self, request: Request) -> None:
        # Signing out with a refresh token needs no other credentials, so an expired
        # access token (or a session without its CSRF token) sent along must not stand
        # in its way: its error counts only when it is what names the account.
        self.credentials_error: exceptions.APIException | None = None
        try:
            request.user  # noqa: B018 - reading it authenticates the request
        except exceptions.APIException as exc:
            self.credentials_error = exc

    def _caller(self, request: Request) -> User:
        if self.credentials_error is not None:
            raise self.credentials_error
        user = request.user
        if not isinstance(user, User):
            raise exceptions.NotAuthenticated()
        return user

    @extend_schema(
        operation_id="users_logout",
        description=(
            "Sign out this device (`refresh_token`), or with `all: true` every device of "
            "the account: every refresh token of the account is revoked. With `all` the "
            "account is the refresh token's owner, or without a refresh token the caller "
            "named by the access token or page session."
        ),
        request=s.LogoutSerializer,
        responses={204: None, 400: ERROR, 401: ERROR, 403: ERROR},
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        given = s.LogoutSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        refresh_token = given.validated_data.get("refresh_token")
        everywhere = given.validated_data["all"]
        if refresh_token:
            services.session_end(refresh_token=refresh_token, everywhere=everywhere)
        else:
            caller = self._caller(request)
            services.user_end_all_sessions(user=caller, acting_user=caller)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    @extend_schema(
        operation_id="users_me_password",
        description=(
            "Change the caller's password. Every session of the account ends (all refresh "
            "tokens are revoked); the answer carries a new token pair for this device."
        ),
        request=s.PasswordChangeSerializer,
        responses={200: s.RefreshedTokenSerializer, 400: ERROR, 401: ERROR},
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        me = acting_user(request)
        serializer = s.PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_change_password(
            user=me,
            current_password=serializer.validated_data["current_password"],
            new_password=serializer.validated_data["new_password"],
            acting_user=me,
        )
        if isinstance(request.successful_authenticator, CsrfSessionAuthentication):
            # A browser calling with its page session keeps it; every other one ends.
            update_session_auth_hash(request._request, user)
        return Response(_token_pair(services.session_start(user=user)))


class MeView(APIView):
    # PUT/PATCH take If-Match and may answer 412 (declared in the schema).
    optimistic_locking = True

    @extend_schema(
        operation_id="users_me", responses={200: s.UserSerializer, 401: ERROR}, tags=["users"]
    )
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        return Response(user_row(user), headers={"ETag": etag_for(user)})

    @extend_schema(
        operation_id="users_me_update",
        request=s.MeUpdateSerializer,
        responses={200: s.UserSerializer, 400: ERROR, 401: ERROR, 412: ERROR},
        tags=["users"],
    )
    def patch(self, request: Request) -> Response:
        me = acting_user(request)
        serializer = s.MeUpdateSerializer(me, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(
            user=me,
            acting_user=me,
            changes=dict(serializer.validated_data),
            expected_etag=if_match(request),
        )
        return Response(s.UserSerializer(user).data, headers={"ETag": etag_for(user)})


class EmailVerifyView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="users_verify_email",
        request=s.EmailVerificationSerializer,
        responses={200: s.UserSerializer, 400: ERROR},
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.EmailVerificationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_verify_email(token=serializer.validated_data["token"])
        return Response(s.UserSerializer(user).data)


class EmailVerifyResendView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "email"

    @extend_schema(
        operation_id="users_verify_email_resend",
        request=None,
        responses={202: s.DetailSerializer, 401: ERROR, 429: ERROR},
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        services.user_request_email_verification(user=acting_user(request))
        return Response(
            {"detail": "If your address is not verified yet, a new link is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetRequestView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "email"

    @extend_schema(
        operation_id="users_password_reset",
        request=s.PasswordResetRequestSerializer,
        responses={202: s.DetailSerializer, 400: ERROR, 429: ERROR},
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.PasswordResetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(email=serializer.validated_data["email"])
        # The same answer whether or not the account exists: no address probing.
        return Response(
            {"detail": "If an account uses this address, a reset link is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetConfirmView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="users_password_reset_confirm",
        request=s.PasswordResetConfirmSerializer,
        responses={200: s.DetailSerializer, 400: ERROR},
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        serializer = s.PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(
            uid=serializer.validated_data["uid"],
            token=serializer.validated_data["token"],
            new_password=serializer.validated_data["new_password"],
        )
        return Response({"detail": "Your password has been changed; sign in with the new one."})
