"""The checks each incident drill must report, by name, with the figures they show."""

from __future__ import annotations

# Incident A: two clients with 195,000,000.00 at central; the standby takes over by approval
# and replays the journal; what they then spend is bounded by their real funds.
PHANTOM_FUNDS_CHECKS = (
    ("a live lease is not taken without approval", "lease_must_be_free_or_expired"),
    ("the maker cannot approve her own request", "checker_must_not_be_maker"),
    ("the standby's book equals the primary's journal", "7 entries"),
    ("a second start of day is refused", "start_of_day_must_be_once_per_node_and_date"),
    ("no phantom money after the switch and re-sync", "0.00"),
    ("the old primary's writes are refused", "lease_epoch_must_be_current"),
    (
        "no order uses money the central books do not hold",
        "F0001 spent 110,034,551.00, F0002 spent 70,021,987.00",
    ),
    ("conservation holds after the fills", "0"),
    ("no overdraft after clearing", "0.00"),
    ("the audit chain verifies", "19 records"),
)

# Incident B: a 26-file return batch tried four times; the 272,500.00 deduction file charged
# once, each of the seven clients its own line once.
DUPLICATE_IMPORT_CHECKS = (
    ("a damaged batch applies nothing", "0.00"),
    ("hand edits of the import status are refused", "3/3"),
    (
        "a second batch for the same kind and date is refused",
        "one_batch_per_kind_and_date_unless_approved_correction",
    ),
    ("the maker cannot approve her own request", "checker_must_not_be_maker"),
    ("the deduction file's total is charged once", "272,500.00"),
    (
        "each client is charged its own line once",
        "F1001 85,000.00, F1002 62,500.00, F1003 41,000.00, F1004 33,000.00, "
        "F1005 24,000.00, F1006 15,500.00, F1007 11,500.00",
    ),
    ("each deduction record is posted once", "7 entries"),
    (
        "the retries post nothing",
        "retry: already_imported, 0 entries; "
        "correction: 25 files already imported, 7 records skipped, 0 entries",
    ),
    ("no file is applied twice", "2 versions of cash_adjustments.csv applied, 2 distinct"),
    ("the audit chain verifies", "9 records"),
)

# The exchange fills buys beyond a client's cash: the books take them, the broker's own funds
# cover the 500,314.10 shortfall (垫付), the client is halted, the monitor sees F2/G3, and
# F3/G1 for the gap the advance leaves until the broker's own money reaches the reserve
# (500,314.10 less the 250.00 commission still held in the special account).
OVERDRAFT_ADVANCE_BOOKS_CHECKS = (
    ("the overdrawing trading batch is booked, not refused", "applied, applied"),
    ("own funds cover the shortfall exactly", "500,314.10"),
    ("another client's money does not pay for the overdraft", "F0001 10,000,000.00"),
    ("the books hold with the advance", "0 breaches"),
    (
        "the client is halted with the cause, and its next order refused",
        "client_trading_must_not_be_halted",
    ),
    ("the package shows the negative balance", "-500314.10"),
)
OVERDRAFT_ADVANCE_CHECKS = (
    *OVERDRAFT_ADVANCE_BOOKS_CHECKS,
    ("the monitor raises F2/G3 for the overdraft", "F2 500,314.10, A5, G1, G3"),
    ("the monitor sees the gap the unfunded advance leaves (F3/G1)", "F3 500,064.10"),
    ("the audit chain verifies", "17 records"),
)
