"""The web dashboard, /healthz and /metrics, served inside the bot's own nursery.

    dashboard = await nursery.start(Dashboard(app).serve)   # app.run does this when
    print(dashboard.url)                                     # [dashboard] enabled = true

Knows the App (store, scheduler, shard, config) and the features' read functions; nothing
imports it except app.py, the admin_dashboard feature and the CLI.
"""

from familybot_trio.web._server import PUBLIC_PATHS, Dashboard

__all__ = ["PUBLIC_PATHS", "Dashboard"]
