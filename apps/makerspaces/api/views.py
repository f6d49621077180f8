"""The makerspace API: the directory, a space's settings, members, skills, closures,
invitations and the audit log.

Reads go through DRF's mixins on selector querysets; every write calls one service,
which checks the role matrix itself. The permission class here only answers early.
"""

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.actors import acting_user, in_space_or_400
from apps.core.api.concurrency import etag_for, if_match
from apps.core.api.serializers import ErrorSerializer
from apps.core.models import AuditLogEntry
from apps.makerspaces import selectors, services
from apps.makerspaces.api import presenters
from apps.makerspaces.api import serializers as s
from apps.makerspaces.api.filters import MakerspaceDirectoryFilter
from apps.makerspaces.api.permissions import (
    UUID_PATTERN,
    HasMakerspacePermission,
    MakerspaceScopedMixin,
)
from apps.makerspaces.models import (
    Closure,
    Invitation,
    Makerspace,
    Membership,
    Skill,
)

ERROR = OpenApiResponse(ErrorSerializer, description="Error envelope")
# `lat,lng` in degrees, within ±90 and ±180.
NEAR_PATTERN = (
    r"^-?(?:90(?:\.0+)?|[1-8]?\d(?:\.\d+)?),"
    r"-?(?:180(?:\.0+)?|(?:1[0-7]\d|[1-9]?\d)(?:\.\d+)?)$"
)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="Name, description, address or city"),
            OpenApiParameter("verified", bool),
            OpenApiParameter(
                "near", str, description="lat,lng — orders by distance", pattern=NEAR_PATTERN
            ),
            OpenApiParameter(
                "radius_km",
                {"type": "number", "format": "double", "minimum": 0.1, "maximum": 20000},
                description="With near: only spaces this close",
            ),
        ],
        responses={200: s.MakerspaceSerializer(many=True), 400: ERROR},
    ),
    retrieve=extend_schema(responses={200: s.MakerspaceSerializer, 404: ERROR}),
    create=extend_schema(responses={201: s.MakerspaceSerializer, 400: ERROR, 401: ERROR}),
    partial_update=extend_schema(
        responses={200: s.MakerspaceSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 412: ERROR}
    ),
    update=extend_schema(
        responses={200: s.MakerspaceSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 412: ERROR}
    ),
    destroy=extend_schema(responses={204: None, 403: ERROR, 404: ERROR}),
)
class MakerspaceViewSet(
    MakerspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The public directory of makerspaces, and each space's own settings."""

    # PUT/PATCH take If-Match and may answer 412 (declared in the schema).
    optimistic_locking = True

    serializer_class = s.MakerspaceSerializer
    filterset_class = MakerspaceDirectoryFilter
    lookup_value_regex = UUID_PATTERN
    queryset = Makerspace.objects.none()
    # The writes to a space are checked like any route of the space (404 to outsiders,
    # 403 without the permission); its URL names the space by ``pk``.
    makerspace_url_kwarg = "pk"
    required_permissions = {
        "update": "makerspace.update",
        "partial_update": "makerspace.update",
        "destroy": "makerspace.delete",
    }

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.action in ("list", "retrieve"):
            return [permissions.AllowAny()]
        if self.action in self.required_permissions:
            return [HasMakerspacePermission()]
        return [permissions.IsAuthenticated()]

    def get_queryset(self) -> Any:
        # The directory's filters (and its ordering) come from MakerspaceDirectoryFilter.
        return Makerspace.objects.all()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Plain rows and a lean presenter: MakerspaceSerializer's JSON without its
        # per-field machinery (the serializer stays the schema and checks writes).
        spaces = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(selectors.makerspace_rows(spaces))
        assert page is not None  # every list of the API is paginated
        closures = selectors.closures_by_space(page)
        return self.get_paginated_response(presenters.directory_rows(page, closures))

    def get_object(self) -> Makerspace:
        if self.action in self.required_permissions:
            # HasMakerspacePermission found the space and checked the role already.
            return self.get_makerspace()
        makerspace = selectors.makerspace_visible_to(
            user=self.request.user, makerspace_id=self.kwargs["pk"]
        )
        if makerspace is None:
            raise Http404
        return makerspace

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        space = selectors.makerspace_row_visible_to(
            user=request.user, makerspace_id=self.kwargs["pk"]
        )
        if space is None:
            raise Http404
        closures = selectors.closures_by_space([space]).get(space["id"], ())
        # The version of the row read, as an update compares it (If-Match).
        version = Makerspace(id=space["id"], updated_at=space["updated_at"])
        return Response(
            presenters.makerspace_row(space, closures), headers={"ETag": etag_for(version)}
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        fields = dict(serializer.validated_data)
        serializer.instance = services.makerspace_create(
            acting_user=acting_user(self.request), name=fields.pop("name"), **fields
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        makerspace = self.get_object()
        serializer = self.get_serializer(makerspace, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        makerspace = services.makerspace_update(
            makerspace=makerspace,
            acting_user=acting_user(request),
            changes=dict(serializer.validated_data),
            expected_etag=if_match(request),
        )
        return Response(
            self.get_serializer(makerspace).data, headers={"ETag": etag_for(makerspace)}
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance: Makerspace) -> None:
        services.makerspace_deactivate(makerspace=instance, acting_user=acting_user(self.request))

    @extend_schema(
        request=s.VerifySerializer,
        responses={200: s.MakerspaceSerializer, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str) -> Response:
        """Super admins mark a space as verified (or take it back with `{"verified": false}`)."""
        # Refuse before looking the space up, so a deactivated space (404 to
        # non-members everywhere else) cannot be told apart from a missing one here.
        if not request.user.is_superuser:
            raise PermissionDenied("Only a super admin verifies makerspaces.")
        makerspace = get_object_or_404(Makerspace, pk=pk)
        body = s.VerifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        makerspace = services.makerspace_set_verified(
            makerspace=makerspace,
            acting_user=acting_user(request),
            verified=body.validated_data["verified"],
        )
        return Response(self.get_serializer(makerspace).data)

    @extend_schema(
        request=None,
        responses={201: s.MembershipOfUserSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def join(self, request: Request, pk: str) -> Response:
        """Join as a member: at once when the policy is `open`, pending on `approval`."""
        makerspace = get_object_or_404(Makerspace, pk=pk, is_active=True)
        membership = services.makerspace_join(
            makerspace=makerspace, acting_user=acting_user(request)
        )
        return Response(
            s.MembershipOfUserSerializer(membership).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    list=extend_schema(responses={200: s.MemberSerializer(many=True), 403: ERROR, 404: ERROR}),
    retrieve=extend_schema(responses={200: s.MemberSerializer, 403: ERROR, 404: ERROR}),
    create=extend_schema(
        request=s.InviteSerializer,
        responses={201: s.InvitationSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
        description="Invite someone by email; they accept from their inbox or the emailed link.",
    ),
    partial_update=extend_schema(
        request=s.MemberRoleSerializer,
        responses={200: s.MemberSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    ),
    destroy=extend_schema(responses={204: None, 403: ERROR, 404: ERROR, 409: ERROR}),
)
class MemberViewSet(
    MakerspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The members of one makerspace; `{m}` is the membership id."""

    queryset = Membership.objects.none()  # the schema's model; rows come from get_queryset

    serializer_class = s.MemberSerializer
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    required_permissions = {
        "list": "members.view",
        "retrieve": "members.view",
        "create": "members.invite",
        "partial_update": "members.manage",
        "destroy": "members.manage",
        "approve": "members.approve",
        "grant_skill": "skills.grant",
        "revoke_skill": "skills.grant",
    }

    def get_required_permission(self) -> str:
        # Leaving and an instructor's grant need no staff role: the services decide
        # them (membership_remove, skill_grant), so such callers pass the gate to them.
        user = acting_user(self.request)
        if self.action == "destroy" and selectors.is_own_membership(
            user=user, membership_id=self.kwargs.get("pk", "")
        ):
            return "makerspace.view"
        if self.action == "grant_skill" and selectors.teaches_in(
            user=user, makerspace_id=self.kwargs[self.makerspace_url_kwarg]
        ):
            return "makerspace.view"
        return super().get_required_permission()

    def get_queryset(self) -> Any:
        return selectors.memberships_of_space(self.get_makerspace())

    def perform_destroy(self, instance: Membership) -> None:
        services.membership_remove(membership=instance, acting_user=acting_user(self.request))

    def create(self, request: Request, makerspace_pk: str) -> Response:
        body = s.InviteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            makerspace=self.get_makerspace(),
            email=body.validated_data["email"],
            role=body.validated_data["role"],
            acting_user=acting_user(request),
        )
        return Response(s.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        body = s.MemberRoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            membership=self.get_object(),
            role=body.validated_data["role"],
            acting_user=acting_user(request),
        )
        return Response(
            self.get_serializer(
                selectors.memberships_of_space(membership.makerspace).get(pk=membership.pk)
            ).data
        )

    @extend_schema(
        request=None, responses={200: s.MemberSerializer, 403: ERROR, 404: ERROR, 409: ERROR}
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """Approve a pending request to join."""
        membership = services.membership_approve(
            membership=self.get_object(), acting_user=acting_user(request)
        )
        return Response(self.get_serializer(membership).data)

    @extend_schema(
        request=s.SkillGrantSerializer,
        responses={201: s.MemberSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["post"], url_path="skills")
    def grant_skill(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """Grant (or renew) a skill, optionally until `expires_at`.

        Staff grant any skill; an instructor of a skill grants that skill to others.
        """
        membership = self.get_object()
        body = s.SkillGrantSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        skill = (
            selectors.skills_of_space(self.get_makerspace())
            .filter(slug=body.validated_data["skill"])
            .first()
        )
        if skill is None:
            raise ValidationError({"skill": ["This makerspace has no such skill."]})
        services.skill_grant(
            membership=membership,
            skill=skill,
            acting_user=acting_user(request),
            expires_at=body.validated_data.get("expires_at"),
        )
        fresh = self.get_queryset().get(pk=membership.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, 403: ERROR, 404: ERROR})
    @action(detail=True, methods=["delete"], url_path=r"skills/(?P<slug>[-a-zA-Z0-9_]+)")
    def revoke_skill(self, request: Request, makerspace_pk: str, pk: str, slug: str) -> Response:
        membership = self.get_object()
        skill = get_object_or_404(Skill, makerspace=self.get_makerspace(), slug=slug)
        services.skill_revoke(membership=membership, skill=skill, acting_user=acting_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(responses={200: s.SkillSerializer(many=True), 404: ERROR}),
    retrieve=extend_schema(responses={200: s.SkillSerializer, 404: ERROR}),
    create=extend_schema(responses={201: s.SkillSerializer, 400: ERROR, 403: ERROR, 404: ERROR}),
    partial_update=extend_schema(
        responses={200: s.SkillSerializer, 400: ERROR, 403: ERROR, 404: ERROR}
    ),
    destroy=extend_schema(responses={204: None, 403: ERROR, 404: ERROR}),
)
class SkillViewSet(
    MakerspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The skills a makerspace trains and certifies, by slug (e.g. `laser-basic`)."""

    queryset = Skill.objects.none()  # the schema's model; rows come from get_queryset

    serializer_class = s.SkillSerializer
    permission_classes = [HasMakerspacePermission]
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    required_permissions = {
        "list": "skills.view",
        "retrieve": "skills.view",
        "create": "skills.manage",
        "partial_update": "skills.manage",
        "destroy": "skills.manage",
        "instructors": "skills.view",
        "add_instructor": "skills.manage",
        "remove_instructor": "skills.manage",
    }

    def get_queryset(self) -> Any:
        return selectors.skills_of_space(self.get_makerspace())

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.skill_create(
            makerspace=self.get_makerspace(),
            acting_user=acting_user(self.request),
            **serializer.validated_data,
        )

    def partial_update(self, request: Request, makerspace_pk: str, slug: str) -> Response:
        skill = self.get_object()
        body = self.get_serializer(skill, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = {k: v for k, v in body.validated_data.items() if k != "slug"}
        if "slug" in body.validated_data and body.validated_data["slug"] != skill.slug:
            raise ValidationError({"slug": ["A skill's slug cannot change; create a new skill."]})
        skill = services.skill_update(
            skill=skill, acting_user=acting_user(request), changes=changes
        )
        return Response(self.get_serializer(skill).data)

    def perform_destroy(self, instance: Skill) -> None:
        services.skill_delete(skill=instance, acting_user=acting_user(self.request))

    def _instructor_membership(self, request: Request) -> Membership:
        body = s.SkillInstructorInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return in_space_or_400(
            Membership.objects.all(),
            pk=body.validated_data["membership"],
            makerspace_id=self.get_makerspace().pk,
            field="membership",
            label="member",
        )

    @extend_schema(
        responses={200: s.SkillInstructorSerializer(many=True), 404: ERROR},
        description="The members who may grant this skill to others.",
    )
    @action(detail=True, methods=["get"], serializer_class=s.SkillInstructorSerializer)
    def instructors(self, request: Request, makerspace_pk: str, slug: str) -> Response:
        skill = self.get_object()
        page = self.paginate_queryset(selectors.instructors_of_skill(skill))
        return self.get_paginated_response(s.SkillInstructorSerializer(page, many=True).data)

    @extend_schema(
        request=s.SkillInstructorInputSerializer,
        responses={201: s.SkillInstructorSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
        description="Mark a member (who holds the skill) as an instructor of it.",
    )
    @instructors.mapping.post
    def add_instructor(self, request: Request, makerspace_pk: str, slug: str) -> Response:
        skill = self.get_object()
        instructor = services.skill_instructor_set(
            membership=self._instructor_membership(request),
            skill=skill,
            is_instructor=True,
            acting_user=acting_user(request),
        )
        assert instructor is not None
        fresh = selectors.instructors_of_skill(skill).get(pk=instructor.pk)
        return Response(s.SkillInstructorSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.SkillInstructorInputSerializer,
        responses={204: None, 400: ERROR, 403: ERROR, 404: ERROR},
        description="The member no longer grants this skill (they keep holding it).",
    )
    @instructors.mapping.delete
    def remove_instructor(self, request: Request, makerspace_pk: str, slug: str) -> Response:
        skill = self.get_object()
        services.skill_instructor_set(
            membership=self._instructor_membership(request),
            skill=skill,
            is_instructor=False,
            acting_user=acting_user(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(responses={200: s.ClosureSerializer(many=True), 404: ERROR}),
    create=extend_schema(
        request=s.ClosureInputSerializer,
        responses={201: s.ClosureSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    ),
    destroy=extend_schema(responses={204: None, 403: ERROR, 404: ERROR}),
)
class ClosureViewSet(
    MakerspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Dated closures (holidays): no opening hours that day."""

    queryset = Closure.objects.none()  # the schema's model; rows come from get_queryset

    serializer_class = s.ClosureSerializer
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "delete", "head", "options"]
    required_permissions = {
        "list": "makerspace.view",
        "create": "closures.manage",
        "destroy": "closures.manage",
    }

    def get_queryset(self) -> Any:
        return selectors.closures_of_space(self.get_makerspace())

    def create(self, request: Request, makerspace_pk: str) -> Response:
        body = s.ClosureInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        closure = services.closure_add(
            makerspace=self.get_makerspace(),
            day=body.validated_data["date"],
            reason=body.validated_data["reason"],
            acting_user=acting_user(request),
        )
        return Response(self.get_serializer(closure).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Closure) -> None:
        services.closure_remove(closure=instance, acting_user=acting_user(self.request))


@extend_schema_view(
    list=extend_schema(responses={200: s.InvitationSerializer(many=True), 403: ERROR, 404: ERROR}),
    destroy=extend_schema(responses={204: None, 403: ERROR, 404: ERROR}),
)
class SpaceInvitationViewSet(
    MakerspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The invitations a space has sent; DELETE revokes an open one."""

    queryset = Invitation.objects.none()  # the schema's model; rows come from get_queryset

    serializer_class = s.InvitationSerializer
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "delete", "head", "options"]
    required_permissions = {"list": "members.invite", "destroy": "members.invite"}

    def get_queryset(self) -> Any:
        return selectors.invitations_sent_by_space(self.get_makerspace())

    def perform_destroy(self, instance: Invitation) -> None:
        services.invitation_revoke(invitation=instance, acting_user=acting_user(self.request))


@extend_schema_view(
    list=extend_schema(
        responses={200: s.AuditLogEntrySerializer(many=True), 403: ERROR, 404: ERROR}
    ),
)
class AuditLogViewSet(MakerspaceScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who changed what in this makerspace, newest first."""

    queryset = AuditLogEntry.objects.none()  # the schema's model; rows come from get_queryset

    serializer_class = s.AuditLogEntrySerializer
    permission_classes = [HasMakerspacePermission]
    required_permissions = {"list": "audit.view"}

    def get_queryset(self) -> Any:
        return selectors.audit_log_of_space(self.get_makerspace().pk)


@extend_schema_view(
    list=extend_schema(responses={200: s.InvitationSerializer(many=True), 401: ERROR})
)
class MyInvitationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's open invitations (their inbox)."""

    queryset = Invitation.objects.none()  # the schema's model; rows come from get_queryset

    serializer_class = s.InvitationSerializer

    def get_queryset(self) -> Any:
        return selectors.pending_invitations_for(acting_user(self.request))


class InvitationViewSet(viewsets.GenericViewSet):
    """Accepting or declining an invitation addressed to the caller."""

    queryset = Invitation.objects.none()  # the schema's model; rows come from get_queryset

    serializer_class = s.InvitationSerializer
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self) -> Any:
        # Only invitations addressed to the caller exist for them.
        return Invitation.objects.filter(email__iexact=acting_user(self.request).email)

    def _invitation(self, pk: str) -> Invitation:
        return get_object_or_404(self.get_queryset(), pk=pk)

    @extend_schema(
        request=None,
        responses={201: s.MembershipOfUserSerializer, 404: ERROR, 409: ERROR, 410: ERROR},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        membership = services.invitation_accept(
            invitation=self._invitation(pk), acting_user=acting_user(request)
        )
        return Response(
            s.MembershipOfUserSerializer(membership).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=None, responses={200: s.InvitationSerializer, 404: ERROR, 409: ERROR, 410: ERROR}
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        invitation = services.invitation_decline(
            invitation=self._invitation(pk), acting_user=acting_user(request)
        )
        return Response(self.get_serializer(invitation).data)


@extend_schema_view(
    list=extend_schema(responses={200: s.MembershipOfUserSerializer(many=True), 401: ERROR})
)
class MyMembershipViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The spaces the caller belongs to (or asked to join)."""

    queryset = Membership.objects.none()  # the schema's model; rows come from get_queryset

    serializer_class = s.MembershipOfUserSerializer

    def get_queryset(self) -> Any:
        return selectors.memberships_of_user(acting_user(self.request))
