from django.apps import AppConfig


class EquipmentConfig(AppConfig):
    name = "apps.equipment"
    label = "equipment"
    verbose_name = "Equipment and reservations"
