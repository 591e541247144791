"""Mass-send speed (§5): ``mass/speed/get`` and ``mass/speed/set`` (45083, 45084)."""

from __future__ import annotations

from .web import ApiError, Ctx, api, ok

# Speed level -> the platform's stated rate, in units of 10,000 messages a minute.
REALSPEED = {0: 80, 1: 60, 2: 45, 3: 30, 4: 10}


@api("/cgi-bin/message/mass/speed/get", bundle=7)
def mass_speed_get(ctx: Ctx) -> dict:
    speed = ctx.account.mass_speed
    return {"speed": speed, "realspeed": REALSPEED[speed]}


@api("/cgi-bin/message/mass/speed/set", bundle=7)
def mass_speed_set(ctx: Ctx) -> dict:
    body = ctx.req.json(required=False)
    if "speed" not in body:
        raise ApiError(45084)
    speed = body["speed"]
    if isinstance(speed, bool) or not isinstance(speed, int) or speed not in REALSPEED:
        raise ApiError(45083)
    ctx.account.mass_speed = speed
    return ok()
