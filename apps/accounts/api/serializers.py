from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.accounts.models import Locale, User
from apps.core.api.serializers import JSONObjectField, StrictFieldsMixin


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "phone",
            "address",
            "locale",
            "preferences",
            "email_verified",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class MeUpdateSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    preferences = JSONObjectField(required=False)

    class Meta:
        model = User
        fields = ["name", "phone", "address", "locale", "preferences"]
        extra_kwargs = {"name": {"allow_blank": False}}

    def validate_preferences(self, value: object) -> object:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value


class RegisterSerializer(StrictFieldsMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    confirm_password = serializers.CharField(write_only=True, style={"input_type": "password"})
    locale = serializers.ChoiceField(choices=Locale.choices, default=Locale.EN)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

    def validate_email(self, value: str) -> str:
        value = value.strip().lower()
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("An account with this email address already exists.")
        return value

    def validate(self, attrs: dict) -> dict:
        if attrs["password"] != attrs["confirm_password"]:
            raise serializers.ValidationError({"confirm_password": ["The passwords do not match."]})
        candidate = User(email=attrs["email"], name=attrs["name"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"})


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField(default="bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")
    user = UserSerializer()


class RefreshedTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField(default="bearer")
    expires_in = serializers.IntegerField()


class RefreshTokenInputSerializer(serializers.Serializer):
    refresh_token = serializers.CharField()


class LogoutSerializer(StrictFieldsMixin, serializers.Serializer):
    """Sign out one device by its refresh token, or with `all` every device of the account."""

    refresh_token = serializers.CharField(
        required=False,
        help_text="The refresh token of this device. Optional with `all`, when the request "
        "carries an access token instead.",
    )
    all = serializers.BooleanField(
        default=False, help_text="Sign out every device of the account, not only this one."
    )

    # A refresh token, or `all: true` (the caller then named by its credentials). "Not
    # false" rather than an enum of true: the schema generator would turn an enum here
    # into a component it never emits.
    body_any_of = [
        {"required": ["refresh_token"]},
        {"required": ["all"], "not": {"properties": {"all": {"enum": [False]}}}},
    ]

    def validate(self, attrs: dict) -> dict:
        if not attrs["all"] and not attrs.get("refresh_token"):
            raise serializers.ValidationError({"refresh_token": ["This field is required."]})
        return attrs


class PasswordChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    """The current password, and the new one twice."""

    current_password = serializers.CharField(write_only=True, style={"input_type": "password"})
    new_password = serializers.CharField(write_only=True, style={"input_type": "password"})
    confirm_password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate(self, attrs: dict) -> dict:
        if attrs["new_password"] != attrs["confirm_password"]:
            raise serializers.ValidationError({"confirm_password": ["The passwords do not match."]})
        return attrs


class EmailVerificationSerializer(serializers.Serializer):
    token = serializers.CharField()


class PasswordResetRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField()
    token = serializers.CharField()
    new_password = serializers.CharField(style={"input_type": "password"})

    def validate_new_password(self, value: str) -> str:
        try:
            password_validation.validate_password(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
