"""The charging profiles module (OCPI ChargingProfiles, 2.2+): a smart charging party (eMSP or SCSP) limits
the power of a CPO's running session; the CPO answers at once, POSTs the charger's result later and PUTs
the ActiveChargingProfile whenever the charger's limit changes.

* :mod:`.receiver` — the CPO side (:class:`ProfileReceiver`), in front of the charger connection's
  :class:`~evroam.chargepoint.SmartCharging` port; :mod:`.composite` — the lowest of several senders'
  limits;
* :mod:`.sender` — the eMSP / SCSP side (:class:`ProfileSender`): send, record, match results, wait,
  TIMEOUT, keep the ActiveChargingProfile updates;
* :mod:`.records` — what both sides remember; :mod:`.push` — results and updates through the outbox;
* :mod:`.ports`, :mod:`.convert`, :mod:`.bindings`, :mod:`.setup`, :mod:`.cli` (``evroam profiles``).

See ``docs/charging-profiles.md``.
"""

from evroam.modules.chargingprofiles.bindings import receiver_binding, requester_of, sender_binding
from evroam.modules.chargingprofiles.composite import active_profile_of, composite, segments
from evroam.modules.chargingprofiles.convert import ProfileConverters, profile_converters, supports_profiles
from evroam.modules.chargingprofiles.kit import CHARGING_PROFILES, ProfileLookups
from evroam.modules.chargingprofiles.ports import ProfileReceiverPort, ProfileResults, ProfileSenderPort
from evroam.modules.chargingprofiles.push import ProfilePusher
from evroam.modules.chargingprofiles.receiver import (
    CAPABILITY,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_TIMEOUT,
    ProfileReceiver,
    Requester,
)
from evroam.modules.chargingprofiles.records import (
    FINAL_STATES,
    Direction,
    ProfileRecord,
    ProfileState,
    ReceivedActive,
    RequestType,
    SessionProfiles,
    list_records,
    load_record,
    load_session_profiles,
)
from evroam.modules.chargingprofiles.sender import DEFAULT_GRACE, ProfileError, ProfileSender
from evroam.modules.chargingprofiles.setup import NodeProfiles, options_from_env

__all__ = [
    "CAPABILITY",
    "CHARGING_PROFILES",
    "DEFAULT_GRACE",
    "DEFAULT_MIN_INTERVAL",
    "DEFAULT_TIMEOUT",
    "FINAL_STATES",
    "Direction",
    "NodeProfiles",
    "ProfileConverters",
    "ProfileError",
    "ProfileLookups",
    "ProfilePusher",
    "ProfileReceiver",
    "ProfileReceiverPort",
    "ProfileRecord",
    "ProfileResults",
    "ProfileSender",
    "ProfileSenderPort",
    "ProfileState",
    "ReceivedActive",
    "RequestType",
    "Requester",
    "SessionProfiles",
    "active_profile_of",
    "composite",
    "list_records",
    "load_record",
    "load_session_profiles",
    "options_from_env",
    "profile_converters",
    "receiver_binding",
    "requester_of",
    "segments",
    "sender_binding",
    "supports_profiles",
]
