"""The seeds' multi-database layout: app `warehouse` lives in the `warehouse` database only."""


class WarehouseRouter:
    def db_for_read(self, model, **hints):
        return "warehouse" if model._meta.app_label == "warehouse" else None

    db_for_write = db_for_read

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label == "warehouse":
            return db == "warehouse"
        return db == "default"
