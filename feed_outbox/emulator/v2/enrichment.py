"""Users, collections and reactions, and enrichment of activities that reference them (in memory)."""

from __future__ import annotations

import copy
import operator
import uuid
from typing import Any

from .activities import activity_id_for, now_time, sort_key_for_id
from .errors import ApiError, input_error, not_found

# A reaction page's id bounds: each keeps the rows whose sort key compares so with the bound's.
_BOUNDS = {"id_lt": operator.lt, "id_lte": operator.le, "id_gt": operator.gt, "id_gte": operator.ge}


class EnrichmentData:
    """The optional Stream data the conformance suite touches; not persisted by `--data`."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.collections: dict[tuple[str, str], dict[str, Any]] = {}
        self.reactions: dict[str, dict[str, Any]] = {}

    # -- users -------------------------------------------------------------------

    def add_user(self, user_id: Any, data: Any, get_or_create: bool) -> dict[str, Any]:
        if not isinstance(user_id, str) or not user_id:
            raise input_error("id", "This field is required.")
        if user_id in self.users:
            if get_or_create:
                return self.users[user_id]
            raise ApiError(4, f"user {user_id!r} already exists", status=409)
        stamp = now_time()
        user = {"id": user_id, "data": data or {}, "created_at": stamp, "updated_at": stamp}
        self.users[user_id] = user
        return user

    def user(self, user_id: str) -> dict[str, Any]:
        if user_id not in self.users:
            raise not_found(f"user {user_id!r}")
        return self.users[user_id]

    def update_user(self, user_id: str, data: Any) -> dict[str, Any]:
        user = self.user(user_id)
        user.update(data=data or {}, updated_at=now_time())
        return user

    # -- collections -------------------------------------------------------------

    def add_entry(self, name: str, entry_id: Any, data: Any, user_id: Any) -> dict[str, Any]:
        entry_id = str(entry_id) if entry_id else str(uuid.uuid4())
        if (name, entry_id) in self.collections:
            raise ApiError(4, f"collection entry {name}:{entry_id} already exists", status=409)
        stamp = now_time()
        entry = {
            "id": entry_id,
            "collection": name,
            "foreign_id": f"{name}:{entry_id}",
            "data": data or {},
            "created_at": stamp,
            "updated_at": stamp,
        }
        if user_id:
            entry["user_id"] = user_id
        self.collections[(name, entry_id)] = entry
        return entry

    def entry(self, name: str, entry_id: str) -> dict[str, Any]:
        if (name, entry_id) not in self.collections:
            raise not_found(f"collection entry {name}:{entry_id}")
        return self.collections[(name, entry_id)]

    # -- reactions ---------------------------------------------------------------

    def add_reaction(self, body: dict[str, Any]) -> dict[str, Any]:
        kind, user_id = body.get("kind"), body.get("user_id")
        if not kind or not isinstance(kind, str):
            raise input_error("kind", "This field is required.")
        if not user_id or not isinstance(user_id, str):
            raise input_error("user_id", "This field is required.")
        parent = None
        if body.get("parent"):
            parent = self.reaction(body["parent"])
            activity_id = parent["activity_id"]
        else:
            activity_id = body.get("activity_id")
            if not activity_id or not isinstance(activity_id, str):
                raise input_error("activity_id", "This field is required.")
        stamp = now_time()
        reaction = {
            "id": activity_id_for(stamp),
            "kind": kind,
            "activity_id": activity_id,
            "user_id": user_id,
            "data": body.get("data") or {},
            "parent": parent["id"] if parent else "",
            "created_at": stamp,
            "updated_at": stamp,
            "latest_children": {},
            "children_counts": {},
        }
        if body.get("target_feeds"):
            reaction["target_feeds"] = list(body["target_feeds"])
        self.reactions[reaction["id"]] = reaction
        if parent is not None:
            parent["latest_children"].setdefault(kind, []).insert(0, reaction)
            parent["children_counts"][kind] = parent["children_counts"].get(kind, 0) + 1
        return reaction

    def reaction(self, reaction_id: str) -> dict[str, Any]:
        if reaction_id not in self.reactions:
            raise not_found(f"reaction {reaction_id!r}")
        return self.reactions[reaction_id]

    def target_activity(self, reaction: dict[str, Any], extra: Any) -> dict[str, Any]:
        """The activity a reaction with target_feeds adds to those feeds."""
        return {
            **(extra if isinstance(extra, dict) else {}),
            "actor": f"SU:{reaction['user_id']}",
            "verb": reaction["kind"],
            "object": f"SA:{reaction['activity_id']}",
            "foreign_id": f"SR:{reaction['id']}",
            "reaction": f"SR:{reaction['id']}",
            "time": reaction["created_at"],
        }

    def delete_reaction(self, reaction_id: str, soft: bool) -> None:
        reaction = self.reaction(reaction_id)
        if soft:
            reaction["deleted_at"] = now_time()
        else:
            del self.reactions[reaction_id]

    def restore_reaction(self, reaction_id: str) -> dict[str, Any]:
        reaction = self.reaction(reaction_id)
        if "deleted_at" not in reaction:
            raise not_found(f"soft-deleted reaction {reaction_id!r}")
        del reaction["deleted_at"]
        return reaction

    def filter_reactions(
        self, field: str, value: str, kind: str | None, bounds: dict[str, str], limit: int
    ) -> list[dict[str, Any]]:
        if field == "reaction_id":
            rows = [r for r in self.reactions.values() if r["parent"] == value]
        else:
            rows = [r for r in self.reactions.values() if r.get(field) == value]
        rows = [r for r in rows if "deleted_at" not in r and (kind is None or r["kind"] == kind)]
        for name, bound in bounds.items():
            edge = sort_key_for_id(bound)
            keep = _BOUNDS[name]
            rows = [r for r in rows if keep((r["created_at"], r["id"]), edge)]
        rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        return rows[:limit]

    # -- enrichment --------------------------------------------------------------

    def enrich(self, activity: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        """Resolve SU:/SO: references and attach reactions as the `enrich/` endpoints do."""
        enriched = dict(activity)
        for key, value in activity.items():
            if isinstance(value, str) and value.startswith("SU:"):
                user = self.users.get(value[3:])
                if user is not None:
                    enriched[key] = copy.deepcopy(user)
            elif isinstance(value, str) and value.startswith("SO:"):
                name, _sep, entry_id = value[3:].partition(":")
                entry = self.collections.get((name, entry_id))
                if entry is not None:
                    enriched[key] = copy.deepcopy(entry)
        if "activities" in activity and isinstance(activity["activities"], list):
            enriched["activities"] = [self.enrich(a, options) for a in activity["activities"]]
            return enriched
        if not (options["own"] or options["recent"] or options["counts"]):
            return enriched
        kinds = options["kinds"]
        mine = [
            r
            for r in self.reactions.values()
            if r["activity_id"] == activity.get("id")
            and not r["parent"]
            and "deleted_at" not in r
            and (not kinds or r["kind"] in kinds)
        ]
        mine.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        grouped: dict[str, list[dict[str, Any]]] = {}
        for reaction in mine:
            grouped.setdefault(reaction["kind"], []).append(reaction)
        if options["recent"]:
            enriched["latest_reactions"] = {k: v[:10] for k, v in grouped.items()}
        if options["counts"]:
            enriched["reaction_counts"] = {k: len(v) for k, v in grouped.items()}
        if options["own"]:
            user_id = options["user_id"]
            own = {k: [r for r in v if r["user_id"] == user_id] for k, v in grouped.items()}
            enriched["own_reactions"] = {k: v for k, v in own.items() if v}
        return enriched
