"""The inventory's public service functions, one import away for api/, cli/ and web/."""

from netwarden.inventory.devices import (
    add_device,
    add_interface,
    add_site,
    get_device,
    get_site,
    list_devices,
    list_interfaces,
    list_sites,
    remove_device,
    remove_interface,
    remove_site,
    show_device,
    show_site,
    update_device,
    update_interface,
    update_site,
)

__all__ = [
    "add_device",
    "add_interface",
    "add_site",
    "get_device",
    "get_site",
    "list_devices",
    "list_interfaces",
    "list_sites",
    "remove_device",
    "remove_interface",
    "remove_site",
    "show_device",
    "show_site",
    "update_device",
    "update_interface",
    "update_site",
]
