"""CAN-8: the words a rejected cancellation shows for each reason code, in both languages.

The codes are cancellation's (its `Reason` enum and `OPERATOR_REJECTED`; a unit test keeps
the two lists equal). A code a newer cancellation release adds and this table lacks is
shown as the code itself: never a hole in the message. Pure data.
"""

from __future__ import annotations

OPERATOR_REJECTED = "OPERATOR_REJECTED"

REASON_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "NOT_ROOT_ACCOUNT": "the account is a sub-account, not a root account",
        "BILLING_UNKNOWN": "billing has not reported on the account yet",
        "PENDING_ORDERS": "orders or services still pending",
        "ARREARS": "unpaid bills (arrears)",
        "ADVANCE_PAYMENTS": "advance payments not yet settled",
        "CASH_BALANCE": "a cash balance left on the account",
        "VOUCHERS": "vouchers left on the account",
        "RESOURCES_UNKNOWN": "the resource inventory has not reported on the account yet",
        "RESOURCES_IN_USE": "resources still in use",
        "CAM_UNKNOWN": "access management has not reported on the account yet",
        "COLLABORATORS": "collaborators still attached to the account",
        "SUB_USERS": "sub-users still on the account",
        "MESSAGE_RECIPIENTS": "message recipients still set up",
        "COMPLAINTS_UNKNOWN": "the complaints desk has not reported on the account yet",
        "OPEN_COMPLAINTS": "complaints still open",
        "OPEN_REPORTS": "reports still open",
        OPERATOR_REJECTED: "rejected by support after a review",
    },
    "zh-CN": {
        "NOT_ROOT_ACCOUNT": "该账号是子账号，不是主账号",
        "BILLING_UNKNOWN": "计费系统尚未报告该账号的情况",
        "PENDING_ORDERS": "仍有未完成的订单或服务",
        "ARREARS": "存在欠费",
        "ADVANCE_PAYMENTS": "仍有未结清的预付款",
        "CASH_BALANCE": "账户仍有现金余额",
        "VOUCHERS": "账户仍有代金券",
        "RESOURCES_UNKNOWN": "资源系统尚未报告该账号的情况",
        "RESOURCES_IN_USE": "仍有资源在使用中",
        "CAM_UNKNOWN": "访问控制系统尚未报告该账号的情况",
        "COLLABORATORS": "仍有协作者",
        "SUB_USERS": "仍有子用户",
        "MESSAGE_RECIPIENTS": "仍设有消息接收人",
        "COMPLAINTS_UNKNOWN": "投诉系统尚未报告该账号的情况",
        "OPEN_COMPLAINTS": "仍有未处理完的投诉",
        "OPEN_REPORTS": "仍有未处理完的举报",
        OPERATOR_REJECTED: "客服审核后驳回",
    },
}
