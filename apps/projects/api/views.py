from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.core.api.actors import acting_user, in_space_or_400
from apps.core.api.concurrency import etag_for, if_match
from apps.core.api.filters import FilteredListsMixin
from apps.core.api.serializers import ErrorSerializer
from apps.equipment.models import Reservation
from apps.inventory.models import InventoryItem
from apps.makerspaces.api.permissions import (
    UUID_PATTERN,
    HasMakerspacePermission,
    MakerspaceScopedMixin,
)
from apps.projects import selectors, services
from apps.projects.api import presenters
from apps.projects.api import serializers as s
from apps.projects.api.filters import MyProjectFilter, ProjectFilter, PublicProjectFilter
from apps.projects.models import BomLine, Project, ProjectCollaborator, ProjectReservation

ERROR = OpenApiResponse(ErrorSerializer, description="Error envelope")
# Members read projects and write their own; what they may do with a given project
# (owner, editor, viewer, staff) is the services' call, answered with 403.
READ = "projects.view"
WRITE = "projects.create"


@extend_schema_view(
    list=extend_schema(
        responses={200: s.ProjectSerializer(many=True), 400: ERROR, 404: ERROR},
        description="The projects of the space the caller may see: their own, those shared "
        "with them, the space's (`makerspace`) and public ones; staff see all.",
    ),
    retrieve=extend_schema(responses={200: s.ProjectSerializer, 404: ERROR}),
    create=extend_schema(
        request=s.ProjectInputSerializer,
        responses={201: s.ProjectSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    partial_update=extend_schema(
        request=s.ProjectInputSerializer,
        responses={
            200: s.ProjectSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            412: ERROR,
        },
        description="Owner, editors and staff change details; privacy needs the owner or staff.",
    ),
    destroy=extend_schema(responses={204: None, 403: ERROR, 404: ERROR}),
)
class ProjectViewSet(mixins.ListModelMixin, FilteredListsMixin, MakerspaceScopedMixin):
    """A space's projects. A project the caller may not see answers 404."""

    # PUT/PATCH take If-Match and may answer 412 (declared in the schema).
    optimistic_locking = True

    queryset = Project.objects.none()  # the schema's model; rows come from get_queryset
    serializer_class = s.ProjectSerializer
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_class = ProjectFilter
    required_permissions = {
        "list": READ,
        "retrieve": READ,
        "create": WRITE,
        "partial_update": WRITE,
        "destroy": WRITE,
    }

    def get_queryset(self) -> Any:
        if self.action == "list":
            # The list reads plain rows and their details apart (see ``list``).
            return selectors.project_list_of_space(
                user=self.request.user, makerspace=self.get_makerspace()
            )
        return selectors.projects_visible_to(
            user=self.request.user, makerspace=self.get_makerspace()
        )

    def list(self, request: Request, makerspace_pk: str) -> Response:
        # Plain rows and a lean presenter: ProjectSerializer's JSON without its per-field
        # machinery (the serializer stays the schema and the single project's answer).
        projects = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(selectors.project_rows(projects))
        assert page is not None  # every list of the API is paginated
        details = selectors.project_details_of([project["id"] for project in page])
        caller = selectors.caller_in_space(request.user, self.get_makerspace().pk)
        return self.get_paginated_response(presenters.project_rows(page, details, caller))

    def retrieve(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        # Not the mixin's: the answer carries the ETag that a later update sends back.
        project = self.get_object()
        return Response(self.get_serializer(project).data, headers={"ETag": etag_for(project)})

    def create(self, request: Request, makerspace_pk: str) -> Response:
        body = s.ProjectInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = acting_user(request)
        project = services.project_create(
            makerspace=self.get_makerspace(), owner=user, acting_user=user, **body.validated_data
        )
        fresh = self.get_queryset().get(pk=project.pk)
        return Response(
            self.get_serializer(fresh).data,
            status=status.HTTP_201_CREATED,
            headers={"ETag": etag_for(fresh)},
        )

    def partial_update(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        project = self.get_object()
        body = s.ProjectInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.project_update(
            project=project,
            acting_user=acting_user(request),
            changes=dict(body.validated_data),
            expected_etag=if_match(request),
        )
        fresh = self.get_queryset().get(pk=project.pk)
        return Response(self.get_serializer(fresh).data, headers={"ETag": etag_for(fresh)})

    def destroy(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        services.project_delete(project=self.get_object(), acting_user=acting_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectChildMixin(MakerspaceScopedMixin):
    """Base of the routes under ``/makerspaces/{id}/projects/{project_pk}/``."""

    project_url_kwarg = "project_pk"

    def get_project(self) -> Project:
        cached = getattr(self, "_project", None)
        if cached is not None:
            return cached
        project = selectors.project_visible_to(
            user=self.request.user,
            makerspace=self.get_makerspace(),
            project_id=self.kwargs[self.project_url_kwarg],
        )
        if project is None:
            raise Http404("No such project.")
        self._project = project
        return project


@extend_schema_view(
    list=extend_schema(responses={200: s.CollaboratorSerializer(many=True), 404: ERROR}),
    create=extend_schema(
        request=s.CollaboratorInputSerializer,
        responses={201: s.CollaboratorSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
        description="Share the project with a member of the space (owner or staff).",
    ),
    partial_update=extend_schema(
        request=s.CollaboratorRoleSerializer,
        responses={200: s.CollaboratorSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    ),
    destroy=extend_schema(
        responses={204: None, 403: ERROR, 404: ERROR},
        description="The owner or staff remove a collaborator; a collaborator may leave.",
    ),
)
class CollaboratorViewSet(mixins.ListModelMixin, ProjectChildMixin):
    """Who works on a project with its owner: viewers read it, editors change it."""

    queryset = ProjectCollaborator.objects.none()  # the schema's model
    serializer_class = s.CollaboratorSerializer
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    required_permissions = {
        "list": READ,
        "create": WRITE,
        "partial_update": WRITE,
        "destroy": WRITE,
    }

    def get_queryset(self) -> Any:
        return (
            ProjectCollaborator.objects.filter(project=self.get_project())
            .select_related("user", "project")
            .order_by("created_at", "pk")
        )

    def create(self, request: Request, makerspace_pk: str, project_pk: str) -> Response:
        project = self.get_project()
        body = s.CollaboratorInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if "user" in body.validated_data:
            field, person = "user", User.objects.filter(pk=body.validated_data["user"]).first()
        else:
            email = body.validated_data["email"]
            field, person = "email", User.objects.filter(email__iexact=email).first()
        if person is None:
            raise ValidationError({field: ["No member of this makerspace is known by that."]})
        collaborator = services.collaborator_add(
            project=project,
            user=person,
            role=body.validated_data["role"],
            acting_user=acting_user(request),
        )
        return Response(self.get_serializer(collaborator).data, status=status.HTTP_201_CREATED)

    def partial_update(
        self, request: Request, makerspace_pk: str, project_pk: str, pk: str
    ) -> Response:
        collaborator = self.get_object()
        body = s.CollaboratorRoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        collaborator = services.collaborator_change_role(
            collaborator=collaborator,
            role=body.validated_data["role"],
            acting_user=acting_user(request),
        )
        return Response(self.get_serializer(collaborator).data)

    def destroy(self, request: Request, makerspace_pk: str, project_pk: str, pk: str) -> Response:
        services.collaborator_remove(
            collaborator=self.get_object(), acting_user=acting_user(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(responses={200: s.BomLineSerializer(many=True), 404: ERROR}),
    create=extend_schema(
        request=s.BomLineInputSerializer,
        responses={201: s.BomLineSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
        description="Add an item of the space's inventory; an item appears once per BOM.",
    ),
    partial_update=extend_schema(
        request=s.BomLineUpdateSerializer,
        responses={200: s.BomLineSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    ),
    destroy=extend_schema(responses={204: None, 403: ERROR, 404: ERROR, 409: ERROR}),
)
class BomLineViewSet(mixins.ListModelMixin, ProjectChildMixin):
    """A project's bill of materials: items of the space's inventory with quantities."""

    queryset = BomLine.objects.none()  # the schema's model
    serializer_class = s.BomLineSerializer
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    required_permissions = {
        "list": READ,
        "create": WRITE,
        "partial_update": WRITE,
        "destroy": WRITE,
        "availability": READ,
        "shortages": READ,
        "consume": WRITE,
    }

    def get_queryset(self) -> Any:
        return selectors.bom_of_project(self.get_project()).select_related("project")

    def _multiplier(self, request: Request) -> int:
        query = s.MultiplierQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return int(query.validated_data["multiplier"])

    def create(self, request: Request, makerspace_pk: str, project_pk: str) -> Response:
        # The project first: another tenant's project is a 404 whatever the body says.
        project = self.get_project()
        body = s.BomLineInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = in_space_or_400(
            InventoryItem.objects.filter(is_active=True),
            pk=body.validated_data["item"],
            makerspace_id=project.makerspace_id,
            field="item",
            label="item",
        )
        line = services.bom_line_add(
            project=project,
            item=item,
            quantity=body.validated_data["quantity"],
            note=body.validated_data["note"],
            acting_user=acting_user(request),
        )
        return Response(self.get_serializer(line).data, status=status.HTTP_201_CREATED)

    def partial_update(
        self, request: Request, makerspace_pk: str, project_pk: str, pk: str
    ) -> Response:
        line = self.get_object()
        body = s.BomLineUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        line = services.bom_line_update(
            line=line,
            quantity=body.validated_data.get("quantity"),
            note=body.validated_data.get("note"),
            acting_user=acting_user(request),
        )
        return Response(self.get_serializer(line).data)

    def destroy(self, request: Request, makerspace_pk: str, project_pk: str, pk: str) -> Response:
        services.bom_line_remove(line=self.get_object(), acting_user=acting_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[s.MultiplierQuerySerializer],
        responses={200: s.AvailabilitySerializer, 400: ERROR, 404: ERROR},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def availability(self, request: Request, makerspace_pk: str, project_pk: str) -> Response:
        """Per line: what the build needs, what the space holds, and what is short."""
        project = self.get_project()
        multiplier = self._multiplier(request)
        rows = selectors.bom_availability(project, multiplier=multiplier)
        result = {
            "multiplier": multiplier,
            "all_available": not any(row.is_short for row in rows),
            "lines": rows,
        }
        return Response(s.AvailabilitySerializer(result).data)

    @extend_schema(
        parameters=[s.MultiplierQuerySerializer],
        responses={200: s.ShortagesSerializer, 400: ERROR, 404: ERROR},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def shortages(self, request: Request, makerspace_pk: str, project_pk: str) -> Response:
        """The lines the space's stock cannot cover, with SKU and missing quantity: what
        "buy what is short" puts in the cart (store products match by SKU)."""
        project = self.get_project()
        multiplier = self._multiplier(request)
        rows = selectors.bom_shortages(project, multiplier=multiplier)
        return Response(s.ShortagesSerializer({"multiplier": multiplier, "lines": rows}).data)

    @extend_schema(
        request=s.ConsumeSerializer,
        responses={200: s.ConsumeResultSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=False, methods=["post"], pagination_class=None)
    def consume(self, request: Request, makerspace_pk: str, project_pk: str) -> Response:
        """Take every line from stock at once (times `multiplier`), or nothing: a short
        line answers 400 INSUFFICIENT_STOCK with `details.items` naming the short ones."""
        project = self.get_project()
        body = s.ConsumeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        movements = services.bom_consume(
            project=project,
            multiplier=body.validated_data["multiplier"],
            reason=body.validated_data["reason"],
            acting_user=acting_user(request),
        )
        result = {
            "success": True,
            "multiplier": body.validated_data["multiplier"],
            "movements": movements,
        }
        return Response(s.ConsumeResultSerializer(result).data)


@extend_schema_view(
    list=extend_schema(responses={200: s.LinkedReservationSerializer(many=True), 404: ERROR}),
    create=extend_schema(
        request=s.LinkReservationSerializer,
        responses={
            201: s.LinkedReservationSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
        },
        description="Link a booking of the owner or a collaborator (owner, editors, staff).",
    ),
    destroy=extend_schema(
        responses={204: None, 403: ERROR, 404: ERROR},
        description="Unlink the booking `{pk}` (the booking's id) from the project.",
    ),
)
class ProjectReservationViewSet(mixins.ListModelMixin, ProjectChildMixin):
    """Bookings made for a project. ``{pk}`` is the booking's id."""

    queryset = ProjectReservation.objects.none()  # the schema's model
    serializer_class = s.LinkedReservationSerializer
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    lookup_field = "reservation_id"
    lookup_url_kwarg = "pk"
    http_method_names = ["get", "post", "delete", "head", "options"]
    required_permissions = {"list": READ, "create": WRITE, "destroy": WRITE}

    def get_queryset(self) -> Any:
        return selectors.reservation_links_of_project(self.get_project()).select_related("project")

    def create(self, request: Request, makerspace_pk: str, project_pk: str) -> Response:
        project = self.get_project()
        body = s.LinkReservationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reservation = in_space_or_400(
            Reservation.objects.all(),
            pk=body.validated_data["reservation"],
            makerspace_id=project.makerspace_id,
            field="reservation",
            label="booking",
        )
        link = services.project_reservation_link(
            project=project, reservation=reservation, acting_user=acting_user(request)
        )
        fresh = self.get_queryset().get(pk=link.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, makerspace_pk: str, project_pk: str, pk: str) -> Response:
        services.project_reservation_unlink(
            link=self.get_object(), acting_user=acting_user(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        responses={200: s.PublicProjectSerializer(many=True), 400: ERROR},
        description="Public projects of every active space; no sign-in needed.",
    ),
    retrieve=extend_schema(responses={200: s.PublicProjectSerializer, 404: ERROR}),
)
class PublicProjectViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The public gallery: projects whose privacy is `public`, readable by anyone.
    Any other project answers 404 here, whoever asks."""

    queryset = Project.objects.none()  # the schema's model
    serializer_class = s.PublicProjectSerializer
    permission_classes = [permissions.AllowAny]
    lookup_value_regex = UUID_PATTERN
    filterset_class = PublicProjectFilter

    def get_queryset(self) -> Any:
        return selectors.public_projects()

    def retrieve(self, request: Request, pk: str) -> Response:
        project = selectors.public_project(pk)
        if project is None:
            raise Http404("No such project.")
        return Response(self.get_serializer(project).data)


@extend_schema_view(
    list=extend_schema(responses={200: s.ProjectSerializer(many=True), 400: ERROR, 401: ERROR}),
)
class MyProjectViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's projects across their spaces: owned and shared with them."""

    queryset = Project.objects.none()  # the schema's model
    serializer_class = s.ProjectSerializer
    filterset_class = MyProjectFilter

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return selectors.projects_of_user(acting_user(self.request))
