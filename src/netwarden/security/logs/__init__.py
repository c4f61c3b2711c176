"""Log events: parsing device, auth and firewall logs into one normalised shape, and storing them."""
