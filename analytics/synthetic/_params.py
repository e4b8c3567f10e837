"""Fixed parameters of the demo city: call-type catalogue, offences, cycles, effect sizes.

Every number here is either a calibration figure from ``CALIBRATION.md`` (row cited in the
comment) or a planted effect documented in ``docs/demo_city.md`` and the truth file.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

CITY_NAME = "Riverton"
CENTER_LAT, CENTER_LON = 38.575, -121.470  # fictional city at a real-looking latitude
START_DATE = dt.date(2022, 1, 1)
END_DATE = dt.date(2025, 12, 31)
N_DAYS = (END_DATE - START_DATE).days + 1  # 1461
FIRST_WEEKDAY = START_DATE.weekday()  # 0 = Monday; 2022-01-01 is a Saturday (5)
#: A CSO primary's travel time is its lognormal draw times this (slower than sworn).
CSO_TRAVEL_FACTOR = 1.15


def month_index(days: np.ndarray) -> np.ndarray:
    """Calendar month of each day index, counted from START_DATE's month (0, 1, ...)."""
    d = np.datetime64(START_DATE.isoformat(), "D") + np.asarray(days).astype("timedelta64[D]")
    m0 = np.datetime64(START_DATE.isoformat(), "M")
    return (d.astype("datetime64[M]") - m0).astype(np.int32)

YEARS = N_DAYS / 365.25

CALLS_PER_1000_PER_YEAR = 600.0  # A1 (400–1,000), suggested 600
INCIDENTS_PER_CALL = 0.12  # ≈ 72 crime reports per 1,000 residents per year

DISTRICTS = ("D1", "D2", "D3", "D4")
BEATS_PER_DISTRICT = 6

# Staggered roll-out: district -> start date (None = never treated).
DEPLOYMENT_STARTS: dict[str, dt.date | None] = {
    "D1": dt.date(2023, 7, 1),
    "D2": dt.date(2024, 4, 1),
    "D3": dt.date(2025, 4, 1),
    "D4": None,
}

# -- planted effects --------------------------------------------------------------------
CSO_PRIMARY_PROB = 0.45  # P(CSO primary | eligible dispatched public call, treated beat-period, CSO hours)
CSO_HOURS = (7, 23)  # CSO on duty 07:00–22:59 (two overlapping 10-hour shifts)
CSO_BACKUP_PROB = {"cso_only": 0.02, "cso_with_backup": 0.10, "co_response": 0.30}  # D4/D5: ≤1 % civilian backup
P12_QUEUE_FACTOR = 0.65  # multiplicative factor on queue time, P1–2 calls, treated beat-periods
PROPERTY_BETA_PER_100H = -0.65  # log rate ratio per 100 CSO foot-patrol hours/week
LOW_LEVEL_PROPERTY = ("PETTY THEFT", "VANDALISM")
SUSPICIOUS_RATE_RATIO = 1.20  # reporting effect on SUSPICIOUS calls
OFFICER_INITIATED_RATE_RATIO = 1.15  # freed sworn time → more proactive work
VIOLENT_RATE_RATIO = 1.00  # planted null

CSO_SHIFT_HOURS = 10
CSO_SHIFTS_PER_WEEK = 4
CSO_SLOTS_PER_SHIFT = 5
CSO_SLOT_MEAN_H = 1.75  # slot length 2 h × U(0.75, 1.0)
CSO_COUNT_RANGE = (1, 3)  # CSOs per treated beat (inclusive)
CSO_PATROL_SHARE_RANGE = (0.30, 0.60)  # share of activity slots that are foot patrol

# -- cycles (F2–F4) ---------------------------------------------------------------------
SEASON_AMPLITUDE = 0.095  # peak ~ 19 July; Aug vs Feb ≈ +21 % (F2)
SEASON_PEAK_DOY = 200
TREND_PER_YEAR = 0.015
# Monday..Sunday; Friday 15 %, Sunday 12.6 % (F4)
WEEKDAY_SHARE = np.array([0.142, 0.141, 0.143, 0.144, 0.150, 0.146, 0.126])
# Public calls by hour, weekday: low ~05h, peak 16–17h (F3)
HOUR_PUBLIC_WEEKDAY = np.array([
    3.2, 2.6, 2.2, 1.7, 1.4, 1.2, 1.6, 2.4, 3.4, 4.0, 4.3, 4.5,
    4.6, 4.7, 4.9, 5.2, 5.6, 5.6, 5.3, 5.0, 4.7, 4.4, 4.0, 3.6])
# Saturday/Sunday: 01–02h busiest (F3)
HOUR_PUBLIC_WEEKEND = np.array([
    5.2, 5.6, 5.4, 3.8, 2.4, 1.5, 1.4, 1.8, 2.4, 3.0, 3.6, 4.0,
    4.2, 4.3, 4.4, 4.5, 4.7, 4.8, 4.8, 4.9, 5.0, 5.1, 5.2, 5.3])
HOUR_OFFICER = np.array([
    4.0, 4.0, 4.5, 4.0, 3.0, 2.0, 2.0, 3.0, 4.0, 4.5, 4.5, 4.0,
    3.5, 3.5, 3.5, 3.0, 3.0, 3.5, 4.0, 4.5, 5.0, 5.0, 4.5, 4.0])

# -- response (B2) and workload (C1) --------------------------------------------------------
PRIORITY_MIX = np.array([0.03, 0.08, 0.63, 0.26])  # public dispatched P1..P4 (B1, Morgan Hill)
QUEUE_MEAN_MIN = np.array([2.7, 6.6, 10.5, 16.5])  # B2
TRAVEL_MEAN_MIN = np.array([4.8, 6.6, 8.2, 10.4])  # B2
QUEUE_SIGMA = 0.85
TRAVEL_SIGMA = 0.50
ONSCENE_SIGMA = 0.75
# Extra units beyond the first: 1 + min(Poisson(lambda × type factor), 4); P1 multiple units (C3)
EXTRA_UNITS_LAMBDA = np.array([2.2, 1.1, 0.72, 0.45])
PUBLIC_COMMITTED_MIN = 30.8  # C1: other-initiated, minutes per unit
PUBLIC_UNITS = 1.8  # C1
OFFICER_COMMITTED_MIN = 19.3  # C1: officer-initiated
OFFICER_EXTRA_UNITS_LAMBDA = 0.4  # C1: 1.4 units
SHIFT_START_HOURS = (6, 14, 22)  # sworn shifts A, B, C
SWORN_TARGET_PEAK_UTIL = 0.50  # staff so the busiest hour of a shift runs at 50 % on public calls (C4 rule of 60 overall)
SWORN_ATTENDANCE = 0.94
MIN_SWORN_ROSTER = 6
SOURCE_911_BY_PRIORITY = np.array([0.95, 0.85, 0.50, 0.35])
TELEPHONE_REPORT_PROB = 0.10  # report-type non-emergency calls taken by phone (P5)
CANCELLED_PROB = 0.015  # sworn P3–4 calls cancelled before any unit arrives
RECLASSIFIED_PROB = 0.07  # call_type_initial differs from the final type

# -- call types -------------------------------------------------------------------------
# code, description, category, tier, sensitive, public weight, officer weight,
# priority probabilities P1..P4, online share, on-scene minutes (relative), unit factor
_CT = [
    ("SHOOTING", "Shots fired / shooting", "violent", "sworn_only", False, 0.6, 0, (0.70, 0.30, 0, 0), 0, 70, 1.6),
    ("STABBING", "Stabbing / cutting", "violent", "sworn_only", False, 0.15, 0, (0.80, 0.20, 0, 0), 0, 80, 1.6),
    ("ASSAULT", "Assault / battery", "violent", "sworn_only", False, 2.2, 0, (0.15, 0.35, 0.50, 0), 0, 45, 1.3),
    ("ROBBERY", "Robbery", "violent", "sworn_only", False, 0.5, 0, (0.40, 0.50, 0.10, 0), 0, 60, 1.4),
    ("DOMESTIC", "Domestic violence", "violent", "sworn_only", True, 2.5, 0, (0.12, 0.40, 0.48, 0), 0, 55, 1.4),
    ("SEX_ASSAULT", "Sexual assault", "violent", "sworn_only", True, 0.25, 0, (0.05, 0.35, 0.60, 0), 0, 70, 1.0),
    ("WEAPON", "Person with a weapon", "violent", "sworn_only", False, 0.6, 0, (0.35, 0.50, 0.15, 0), 0, 40, 1.6),
    ("FIGHT", "Fight in progress", "violent", "sworn_only", False, 1.0, 0, (0.20, 0.50, 0.30, 0), 0, 30, 1.5),
    ("ORDER_VIOLATION", "Restraining-order violation", "violent", "sworn_only", True, 0.4, 0, (0.10, 0.40, 0.50, 0), 0, 40, 1.0),
    ("CHILD_ABUSE", "Child abuse / neglect", "violent", "sworn_only", True, 0.3, 0, (0.05, 0.30, 0.65, 0), 0, 60, 1.0),
    ("BURGLARY_RES", "Residential burglary", "property", "sworn_only", False, 1.2, 0, (0.05, 0.15, 0.60, 0.20), 0, 40, 1.0),
    ("BURGLARY_COM", "Commercial burglary", "property", "sworn_only", False, 0.5, 0, (0.05, 0.15, 0.60, 0.20), 0, 40, 1.0),
    ("VEHICLE_THEFT", "Stolen vehicle", "property", "cso_with_backup", False, 1.5, 0, (0, 0.03, 0.60, 0.37), 0.30, 30, 0.6),
    ("THEFT", "Theft report", "property", "cso_only", False, 5.0, 0, (0, 0, 0.55, 0.45), 0.60, 30, 0.5),
    ("THEFT_FROM_VEH", "Theft from vehicle", "property", "cso_only", False, 1.5, 0, (0, 0, 0.50, 0.50), 0.70, 25, 0.5),
    ("SHOPLIFT", "Shoplifting, suspect detained", "property", "cso_with_backup", False, 1.5, 0, (0, 0.05, 0.75, 0.20), 0, 40, 0.7),
    ("VANDALISM", "Vandalism / graffiti", "property", "cso_only", False, 1.6, 0, (0, 0, 0.50, 0.50), 0.60, 25, 0.5),
    ("FRAUD", "Fraud / identity theft", "property", "cso_only", False, 2.0, 0, (0, 0, 0.30, 0.70), 0.80, 30, 0.4),
    ("LOST_PROPERTY", "Lost / found property", "service", "cso_only", False, 1.5, 0, (0, 0, 0.20, 0.80), 0.80, 15, 0.4),
    ("HARASSMENT", "Harassment / threats by phone", "service", "cso_only", False, 1.5, 0, (0, 0, 0.50, 0.50), 0.50, 20, 0.5),
    ("DISTURBANCE", "Disturbance", "disorder", "sworn_only", False, 4.0, 0, (0.02, 0.12, 0.76, 0.10), 0, 25, 1.2),
    ("NOISE", "Noise complaint", "disorder", "cso_only", False, 3.2, 0, (0, 0, 0.40, 0.60), 0, 15, 0.6),
    ("TRESPASS", "Trespassing", "disorder", "cso_with_backup", False, 2.0, 0, (0, 0.05, 0.80, 0.15), 0, 25, 0.8),
    ("PANHANDLING", "Aggressive panhandling", "disorder", "cso_only", False, 0.8, 0, (0, 0, 0.60, 0.40), 0, 15, 0.6),
    ("ENCAMPMENT", "Homeless encampment / welfare", "disorder", "co_response", False, 1.5, 0, (0, 0, 0.60, 0.40), 0, 35, 0.8),
    ("INTOXICATED", "Intoxicated person", "disorder", "cso_with_backup", False, 1.2, 0, (0, 0.10, 0.80, 0.10), 0, 30, 0.9),
    ("DRUGS", "Drug activity", "disorder", "sworn_only", False, 0.8, 0, (0, 0.10, 0.70, 0.20), 0, 25, 1.1),
    ("NUISANCE", "Nuisance property / illegal dumping", "disorder", "cso_only", False, 0.6, 0, (0, 0, 0.30, 0.70), 0, 20, 0.5),
    ("SUSPICIOUS", "Suspicious activity / person", "suspicious", "sworn_only", False, 4.5, 0, (0.02, 0.13, 0.70, 0.15), 0, 20, 1.1),
    ("SUSPICIOUS_VEH", "Suspicious vehicle", "suspicious", "sworn_only", False, 2.0, 0, (0.01, 0.09, 0.70, 0.20), 0, 18, 1.0),
    ("PROWLER", "Prowler", "suspicious", "sworn_only", False, 0.4, 0, (0.10, 0.50, 0.40, 0), 0, 25, 1.3),
    ("COLLISION_INJURY", "Injury collision", "traffic", "sworn_only", False, 1.2, 0, (0.40, 0.50, 0.10, 0), 0, 60, 1.5),
    ("COLLISION", "Non-injury collision", "traffic", "cso_with_backup", False, 2.8, 0, (0, 0.05, 0.70, 0.25), 0.20, 40, 0.8),
    ("TRAFFIC_HAZARD", "Traffic hazard / signal out", "traffic", "cso_only", False, 1.5, 0, (0, 0.10, 0.70, 0.20), 0, 30, 0.7),
    ("PARKING", "Parking complaint", "traffic", "cso_only", False, 2.5, 0, (0, 0, 0.30, 0.70), 0, 15, 0.3),
    ("ABANDONED_VEH", "Abandoned vehicle", "traffic", "cso_only", False, 1.0, 0, (0, 0, 0.10, 0.90), 0, 15, 0.3),
    ("RECKLESS_DRIVER", "Reckless / impaired driver", "traffic", "sworn_only", False, 1.5, 0, (0.05, 0.35, 0.60, 0), 0, 20, 1.0),
    ("MENTAL_HEALTH", "Mental-health crisis", "mental_health", "co_response", True, 1.8, 0, (0.05, 0.30, 0.60, 0.05), 0, 60, 1.2),
    ("SUICIDE_THREAT", "Suicide threat", "mental_health", "sworn_only", True, 0.6, 0, (0.40, 0.50, 0.10, 0), 0, 70, 1.3),
    ("WELFARE_CHECK", "Welfare check", "service", "co_response", False, 3.5, 0, (0.01, 0.10, 0.70, 0.19), 0, 25, 0.9),
    ("MEDICAL_ASSIST", "Medical assist (fire/EMS)", "service", "cso_with_backup", False, 1.0, 0, (0.10, 0.30, 0.50, 0.10), 0, 25, 0.8),
    ("MISSING_PERSON", "Missing person", "service", "sworn_only", False, 0.6, 0, (0.05, 0.30, 0.60, 0.05), 0, 50, 1.0),
    ("JUVENILE", "Juvenile problem / runaway", "service", "cso_with_backup", True, 1.2, 0, (0, 0.05, 0.70, 0.25), 0, 35, 0.8),
    ("ANIMAL", "Animal complaint", "service", "cso_only", False, 1.2, 0, (0, 0.02, 0.48, 0.50), 0, 20, 0.4),
    ("CIVIL", "Civil dispute / standby", "service", "cso_only", False, 1.3, 0, (0, 0, 0.50, 0.50), 0, 30, 0.7),
    ("ASSIST_CITIZEN", "Assist citizen / information", "service", "cso_only", False, 1.5, 0, (0, 0, 0.40, 0.60), 0, 15, 0.4),
    ("HANGUP_911", "911 hang-up", "service", "sworn_only", False, 2.5, 0, (0, 0.25, 0.70, 0.05), 0, 12, 1.0),
    ("ALARM", "Burglar alarm", "alarm", "sworn_only", False, 3.5, 0, (0, 0.10, 0.80, 0.10), 0, 12, 1.0),
    ("ALARM_PANIC", "Panic / hold-up alarm", "alarm", "sworn_only", False, 0.3, 0, (0.60, 0.40, 0, 0), 0, 15, 1.6),
    # officer-initiated (proactive) work
    ("TRAFFIC_STOP", "Traffic stop", "proactive", "sworn_only", False, 0, 20.0, (0, 0, 0.30, 0.70), 0, 15, 1.0),
    ("PED_STOP", "Pedestrian stop", "proactive", "sworn_only", False, 0, 5.0, (0, 0, 0.50, 0.50), 0, 15, 1.0),
    ("SECURITY_CHECK", "Business / area security check", "proactive", "sworn_only", False, 0, 8.0, (0, 0, 0.20, 0.80), 0, 12, 1.0),
    ("FOLLOW_UP", "Follow-up investigation", "proactive", "sworn_only", False, 0, 4.0, (0, 0, 0.30, 0.70), 0, 35, 1.0),
    ("WARRANT", "Warrant service", "proactive", "sworn_only", False, 0, 1.5, (0, 0.10, 0.70, 0.20), 0, 45, 1.0),
    ("FLAG_DOWN", "Flagged down by citizen", "proactive", "sworn_only", False, 0, 2.0, (0, 0.10, 0.60, 0.30), 0, 20, 1.0),
    ("DIRECTED_PATROL", "Directed patrol", "proactive", "sworn_only", False, 0, 4.0, (0, 0, 0.20, 0.80), 0, 30, 1.0),
]

CT_CODE = np.array([c[0] for c in _CT])
CT_DESC = [c[1] for c in _CT]
CT_CATEGORY = np.array([c[2] for c in _CT])
CT_TIER = np.array([c[3] for c in _CT])
CT_SENSITIVE = np.array([c[4] for c in _CT])
CT_PUBLIC_W = np.array([c[5] for c in _CT], dtype=float)
CT_OFFICER_W = np.array([c[6] for c in _CT], dtype=float)
CT_PRIORITY = np.array([c[7] for c in _CT], dtype=float)
CT_ONLINE = np.array([c[8] for c in _CT], dtype=float)
CT_ONSCENE = np.array([c[9] for c in _CT], dtype=float)
CT_UNIT_FACTOR = np.array([c[10] for c in _CT], dtype=float)
CT_IS_OFFICER = CT_OFFICER_W > 0
CT_ELIGIBLE = CT_TIER != "sworn_only"
N_TYPES = len(_CT)
OFFICER_SHARE = 0.45  # A2: 46 % officer-initiated (Morgan Hill)
ONLINE_SHARE = 0.065  # A4: Ottawa ≈ 6.5 %

# -- offences (incidents) ----------------------------------------------------------------------
# offence, category, weight, report delay mean hours
_OFF = [
    ("HOMICIDE", "violent", 0.1, 0.3),
    ("RAPE", "violent", 0.6, 24.0),
    ("ROBBERY", "violent", 2.5, 0.5),
    ("AGGRAVATED ASSAULT", "violent", 4.5, 0.5),
    ("SIMPLE ASSAULT", "violent", 9.0, 1.0),
    ("DOMESTIC VIOLENCE", "violent", 5.0, 2.0),
    ("BURGLARY", "property", 6.0, 12.0),
    ("MOTOR VEHICLE THEFT", "property", 7.0, 10.0),
    ("THEFT FROM VEHICLE", "property", 10.0, 14.0),
    ("PETTY THEFT", "property", 14.0, 18.0),
    ("SHOPLIFTING", "property", 6.0, 1.0),
    ("VANDALISM", "property", 12.0, 16.0),
    ("GRAND THEFT", "property", 3.0, 20.0),
    ("FRAUD", "property", 5.0, 72.0),
    ("DRUG POSSESSION", "quality_of_life", 3.0, 0.2),
    ("PUBLIC INTOXICATION", "quality_of_life", 2.0, 0.2),
    ("TRESPASSING", "quality_of_life", 3.0, 0.5),
    ("DISORDERLY CONDUCT", "quality_of_life", 2.0, 0.3),
    ("WEAPONS VIOLATION", "other", 1.5, 0.3),
    ("DUI", "other", 3.0, 0.1),
    ("WARRANT ARREST", "other", 2.0, 0.1),
]
OFF_NAME = np.array([o[0] for o in _OFF])
OFF_CATEGORY = np.array([o[1] for o in _OFF])
OFF_W = np.array([o[2] for o in _OFF], dtype=float)
OFF_DELAY_H = np.array([o[3] for o in _OFF], dtype=float)
OFF_LOW_LEVEL = np.isin(OFF_NAME, LOW_LEVEL_PROPERTY)

DISPOSITIONS = np.array([
    "REPORT", "ADVISED", "GONE_ON_ARRIVAL", "ARREST", "UNFOUNDED", "REFERRAL", "CITATION",
    "WARNING", "NO_ACTION", "ONLINE_REPORT", "TELEPHONE_REPORT", "CANCELLED",
])
# rows: public sworn, public violent, CSO primary, traffic stop, other officer-initiated
DISPOSITION_PROBS = np.array([
    [0.25, 0.30, 0.15, 0.06, 0.12, 0.07, 0.05, 0, 0, 0, 0, 0],
    [0.40, 0.15, 0.12, 0.20, 0.08, 0.05, 0, 0, 0, 0, 0, 0],
    [0.35, 0.25, 0.10, 0, 0.05, 0.25, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0.05, 0, 0, 0.45, 0.50, 0, 0, 0, 0],
    [0.30, 0.40, 0, 0.10, 0, 0, 0, 0, 0.20, 0, 0, 0],
])

UNIT_ID_RULE = (
    "sworn patrol units start with a digit: <district digit><shift letter A/B/C><two-digit "
    "number>, e.g. 1A07; CSO units start with 'CSO': CSO<district digit>-<two-digit number>, "
    "e.g. CSO2-05"
)
