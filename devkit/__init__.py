"""Dev-only tools: the embedded broker, mail and SMS sinks, the dev stack and test helpers.

Nothing under `shared/` or `services/` imports this package, and the production image
(deploy/Dockerfile) leaves it out; deploy/devtools.Dockerfile builds the sinks' image.
"""
