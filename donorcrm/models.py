"""Every table of donorcrm, imported in one place so SQLModel.metadata is complete for Alembic.

Each domain package adds its models module here.
"""

from sqlmodel import SQLModel

from donorcrm.audit import AuditLog
from donorcrm.auth import User
from donorcrm.banking.models import BankAllocation, BankLine, BankStatement
from donorcrm.bequests.models import (
    BequestCase,
    BequestCheck,
    BequestContact,
    BequestDocument,
    BequestEstimate,
    BequestPledge,
    BequestStageEvent,
    BequestTask,
)
from donorcrm.campaigns.models import (
    ActionParticipation,
    Campaign,
    CampaignCost,
    Fund,
    FundraisingPage,
    MatchAllocation,
    MatchPool,
    PageCredit,
    SourceCode,
)
from donorcrm.commitments.models import Commitment, CommitmentAmount, PeriodicAgreement
from donorcrm.donors.models import ConsentEvent, Donor, DonorAccount, Household
from donorcrm.gifts.models import Gift
from donorcrm.grants.models import (
    CofundingAllocation,
    Funder,
    FundSpending,
    Grant,
    GrantInstalment,
    GrantReminder,
    GrantReport,
    RepaymentClaim,
)
from donorcrm.jobs import JobRun
from donorcrm.payments.models import (
    PaymentEvent,
    ProviderFee,
    ProviderPayment,
    ProviderPayout,
    ProviderPayoutLine,
    ProviderSubscription,
)
from donorcrm.sepa.models import Collection, Mandate, Prenotification, SepaFile, SepaReturn, SepaRun

metadata = SQLModel.metadata

__all__ = [
    "BequestCase", "BequestCheck", "BequestContact", "BequestDocument", "BequestEstimate", "BequestPledge",
    "BequestStageEvent", "BequestTask",
    "ActionParticipation", "AuditLog", "BankAllocation", "BankLine", "BankStatement", "Campaign", "CampaignCost",
    "FundraisingPage", "MatchAllocation",
    "MatchPool", "PageCredit", "SourceCode", "Commitment", "CommitmentAmount", "PeriodicAgreement", "ConsentEvent", "Donor", "DonorAccount", "Fund", "Gift", "Household", "User",
    "JobRun", "Collection", "Mandate", "Prenotification", "SepaFile", "SepaReturn", "SepaRun",
    "PaymentEvent", "ProviderFee", "ProviderPayment", "ProviderPayout", "ProviderPayoutLine", "ProviderSubscription",
    "CofundingAllocation", "Funder", "FundSpending", "Grant", "GrantInstalment", "GrantReminder", "GrantReport",
    "RepaymentClaim",
    "metadata",
]
