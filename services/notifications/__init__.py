"""The notifications service: calendar invites and templated emails, each delivered once."""
