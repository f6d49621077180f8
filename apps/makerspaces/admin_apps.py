"""The admin app with MakrX's own site (installed in place of ``django.contrib.admin``).

Kept apart from :mod:`apps.makerspaces.admin_site`: this module is imported while
the app registry is still loading, so it must not import any model.
"""

from django.contrib.admin.apps import AdminConfig


class MakrXAdminConfig(AdminConfig):
    default_site = "apps.makerspaces.admin_site.MakrXAdminSite"
