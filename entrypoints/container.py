"""The composition root: settings -> engine -> unit of work -> gateway registry -> use cases.

Everything that is built once per process is a Singleton; use cases are Factories (cheap, stateless).
Tests swap an adapter with `container.<provider>.override(...)`, never by patching modules.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.crypto import AeadSecretBox
from adapters.gateway_registry import EntryPointGatewayRegistry
from adapters.ids import SortableIdGenerator
from adapters.sandbox import SandboxNetwork
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from application.use_cases.event_feed import ListEvents
from application.use_cases.gateway_accounts import (
    GetGatewayAccount,
    ListGatewayAccounts,
    RegisterGatewayAccount,
    UpdateGatewayAccount,
)
from application.use_cases.invoices import GetInvoice, MarkInvoiceUncollectible, VoidInvoice
from application.use_cases.orders import CancelOrder, CreateOrder, GetOrder, ListCustomerOrders
from application.use_cases.payment_methods import (
    ListPaymentMethods,
    RemovePaymentMethod,
    SavePaymentMethod,
    SetDefaultPaymentMethod,
    UpdatePaymentMethod,
)
from application.use_cases.payments import (
    CancelPayment,
    CapturePayment,
    ConfirmPayment,
    CreatePaymentForOrder,
    GetPayment,
)
from application.use_cases.reconcile import Reconcile
from application.use_cases.refunds import RefundPayment
from application.use_cases.webhooks import HandleGatewayWebhook
from entrypoints.gateways import build_gateway_registry
from entrypoints.http.sandbox_delivery import InProcessWebhookSender
from entrypoints.settings import Settings


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings.from_env)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(SortableIdGenerator)
    secret_box = providers.Singleton(AeadSecretBox, keys=providers.Callable(list, settings.provided.secret_keys))

    engine = providers.Singleton(create_engine, settings.provided.database_url,
                                 connections=settings.provided.database_connections)
    uow_factory = providers.Singleton(SqlAlchemyUnitOfWorkFactory, engine=engine, secret_box=secret_box)

    # The sandbox posts its signed webhooks to the app itself; create_app attaches the app to the sender.
    webhook_sender = providers.Singleton(InProcessWebhookSender)
    sandbox_network = providers.Singleton(SandboxNetwork, public_base_url=settings.provided.public_base_url,
                                          deliver=webhook_sender)
    gateway_registry: providers.Provider[EntryPointGatewayRegistry] = providers.Singleton(
        build_gateway_registry, sandbox_network=sandbox_network
    )

    # Shop backend
    register_gateway = providers.Factory(RegisterGatewayAccount, uow_factory, gateway_registry, clock, ids)
    update_gateway = providers.Factory(UpdateGatewayAccount, uow_factory)
    get_gateway = providers.Factory(GetGatewayAccount, uow_factory)
    list_gateways = providers.Factory(ListGatewayAccounts, uow_factory)
    create_order = providers.Factory(CreateOrder, uow_factory, clock, ids)
    get_order = providers.Factory(GetOrder, uow_factory)
    cancel_order = providers.Factory(CancelOrder, uow_factory, gateway_registry, clock)
    get_invoice = providers.Factory(GetInvoice, uow_factory)
    void_invoice = providers.Factory(VoidInvoice, uow_factory, clock)
    mark_invoice_uncollectible = providers.Factory(MarkInvoiceUncollectible, uow_factory, clock)
    get_payment = providers.Factory(GetPayment, uow_factory)
    capture_payment = providers.Factory(CapturePayment, uow_factory, gateway_registry, clock)
    cancel_payment = providers.Factory(CancelPayment, uow_factory, gateway_registry, clock)
    refund_payment = providers.Factory(RefundPayment, uow_factory, gateway_registry, clock, ids)
    reconcile = providers.Factory(Reconcile, uow_factory, gateway_registry, clock, ids)
    list_events = providers.Factory(ListEvents, uow_factory)

    # Shopper
    list_payment_methods = providers.Factory(ListPaymentMethods, uow_factory)
    save_payment_method = providers.Factory(SavePaymentMethod, uow_factory, gateway_registry, clock, ids)
    update_payment_method = providers.Factory(UpdatePaymentMethod, uow_factory, gateway_registry)
    set_default_payment_method = providers.Factory(SetDefaultPaymentMethod, uow_factory, gateway_registry)
    remove_payment_method = providers.Factory(RemovePaymentMethod, uow_factory, gateway_registry, clock)
    list_customer_orders = providers.Factory(ListCustomerOrders, uow_factory)
    create_payment = providers.Factory(CreatePaymentForOrder, uow_factory, gateway_registry, clock, ids)
    confirm_payment = providers.Factory(ConfirmPayment, uow_factory, gateway_registry, clock, ids)

    # Gateways
    handle_webhook = providers.Factory(HandleGatewayWebhook, uow_factory, gateway_registry, clock, ids)
