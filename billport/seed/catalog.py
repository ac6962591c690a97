"""Reference data the generator draws from: companies, countries, currencies, products, meters."""

from __future__ import annotations

from dataclasses import dataclass

# (country, billing currency, currency symbol, tax rate in basis points)
COUNTRIES: tuple[tuple[str, str, str, int], ...] = (
    ("US", "USD", "$", 0),
    ("GB", "GBP", "£", 2000),
    ("DE", "EUR", "€", 1900),
    ("FR", "EUR", "€", 2000),
    ("NL", "EUR", "€", 2100),
    ("CH", "CHF", "CHF", 810),
    ("SE", "SEK", "kr", 2500),
    ("CA", "CAD", "$", 500),
    ("AU", "AUD", "$", 1000),
    ("JP", "JPY", "¥", 1000),
)

# Units of the billing currency per USD, 6 decimal places (pricing currency is USD for Azure).
USD_RATES_MICRO: dict[str, int] = {
    "USD": 1_000_000,
    "EUR": 921_450,
    "GBP": 789_120,
    "CHF": 884_300,
    "SEK": 10_512_700,
    "CAD": 1_361_200,
    "AUD": 1_512_300,
    "JPY": 149_870_000,
}

SYMBOLS: dict[str, str] = {code: symbol for _, code, symbol, _ in COUNTRIES}

PARTNER_NAMES: tuple[str, ...] = (
    "Contoso Cloud Runtime",
    "Northwind Traders CSP",
    "Adatum Partner Solutions",
    "Tailspin IT Distribution",
    "Litware Managed Runtime",
    "Fourth Coffee Systems",
    "Wingtip Cloud Group",
    "Proseware Direct",
)

COMPANY_STEMS: tuple[str, ...] = (
    "Fabrikam",
    "Woodgrove",
    "Alpine Ski House",
    "Blue Yonder",
    "Coho Winery",
    "Graphic Design Institute",
    "Humongous Insurance",
    "Lamna Healthcare",
    "Lucerne Publishing",
    "Margie's Travel",
    "Relecloud",
    "School of Fine Art",
    "Trey Research",
    "Wide World Importers",
    "VanArsdel",
    "Bellows College",
    "Consolidated Messenger",
    "First Up Consultants",
    "Southridge Video",
    "City Power & Light",
    "Datum Corporation",
    "Nod Publishers",
    "Munson's Pickles",
    "Olympia Dental",
    "Tasmanian Traders",
    "Müller Maschinenbau",
    "Société Générale de Café",
    "Zürcher Uhrwerk",
    "Nordlicht Logistik",
    "Brightwater Foods",
)

COMPANY_SUFFIXES: tuple[str, ...] = ("Ltd", "Inc", "GmbH", "SA", "AG", "BV", "LLC", "plc", "AB")


@dataclass(frozen=True)
class Product:
    """A catalogue SKU sold as a license (reconciliation line items)."""

    product_id: str
    sku_id: str
    product_name: str
    sku_name: str
    publisher: str
    category: str  # ProductCategory / products.category
    usd_price_micro: int  # monthly unit price in USD, 6 decimal places
    term: str  # TermAndBillingCycle
    frequency: str  # BillingFrequency
    unit_type: str
    qualifiers: str  # ProductQualifiers (JSON-array text)


MICROSOFT = "Microsoft Corporation"
MICROSOFT_ID = "1"

PRODUCTS: tuple[Product, ...] = (
    Product(
        "CFQ7TTC0LFLX",
        "0001",
        "Microsoft 365 E3",
        "Microsoft 365 E3",
        MICROSOFT,
        "OnlineServicesNCE",
        36_000_000,
        "One-Year commitment for monthly/yearly billing",
        "Monthly",
        "",
        '["Annual"]',
    ),
    Product(
        "CFQ7TTC0LDPB",
        "0001",
        "Microsoft 365 Business Premium",
        "Microsoft 365 Business Premium",
        MICROSOFT,
        "OnlineServicesNCE",
        22_000_000,
        "One-Month commitment for monthly billing",
        "Monthly",
        "",
        "[]",
    ),
    Product(
        "CFQ7TTC0LF8Q",
        "0001",
        "Office 365 E1",
        "Office 365 E1",
        MICROSOFT,
        "OnlineServicesNCE",
        10_000_000,
        "One-Year commitment for monthly/yearly billing",
        "Monthly",
        "",
        '["Annual"]',
    ),
    Product(
        "CFQ7TTC0LH18",
        "0001",
        "Exchange Online (Plan 1)",
        "Exchange Online (Plan 1)",
        MICROSOFT,
        "OnlineServicesNCE",
        4_000_000,
        "One-Month commitment for monthly billing",
        "Monthly",
        "",
        "[]",
    ),
    Product(
        "CFQ7TTC0MM8R",
        "0001",
        "Microsoft Teams Essentials",
        "Microsoft Teams Essentials",
        MICROSOFT,
        "OnlineServicesNCE",
        4_000_000,
        "One-Year commitment for yearly billing",
        "Annual",
        "",
        '["Annual"]',
    ),
    Product(
        "DZH318Z0BQ3Q",
        "0027",
        "Virtual Machines Dv3 Series",
        "Reserved VM Instance, Standard_D2_v3, US East, 1 Year",
        MICROSOFT,
        "Azure",
        71_540_000,
        "One-Year commitment for monthly billing",
        "Monthly",
        "Reservation",
        '["Reservation"]',
    ),
    Product(
        "DZH318Z0BPS6",
        "0098",
        "SQL Database Single/Elastic Pool General Purpose",
        "Reserved vCore, Gen5, 1 Year",
        MICROSOFT,
        "Azure",
        94_170_000,
        "One-Year commitment for monthly billing",
        "Monthly",
        "Reservation",
        '["Reservation"]',
    ),
    Product(
        "DG7GMGF0D7FV", "0001", "Azure plan", "Azure plan", MICROSOFT, "Azure", 0, "", "", "", "[]"
    ),
    Product(
        "DG7GMGF0DWRS",
        "0002",
        "Windows Server 2022 Standard - 16 Core License Pack",
        "Windows Server 2022 Standard - 16 Core License Pack",
        MICROSOFT,
        "Software",
        972_000_000,
        "Perpetual",
        "OneTime",
        "",
        '["Perpetual"]',
    ),
    Product(
        "DZH318Z0C5QX",
        "0001",
        "Visual Studio Professional Subscription",
        "Visual Studio Professional Subscription",
        MICROSOFT,
        "Software",
        45_000_000,
        "One-Year commitment for yearly billing",
        "Annual",
        "",
        "[]",
    ),
    Product(
        "DZH318Z0BXWC",
        "0001",
        "Adobe Acrobat Pro for teams",
        "Acrobat Pro, monthly",
        "Adobe Inc.",
        "Marketplace",
        23_990_000,
        "One-Month commitment for monthly billing",
        "Monthly",
        "",
        '["Third Party"]',
    ),
    Product(
        "DZH318Z0BP6J",
        "0003",
        "Acronis Cyber Protect Cloud",
        "Per workload",
        "Acronis International GmbH",
        "Marketplace",
        5_500_000,
        "One-Month commitment for monthly billing",
        "Monthly",
        "",
        '["Third Party"]',
    ),
)

AZURE_PLAN = PRODUCTS[7]


@dataclass(frozen=True)
class Meter:
    """An Azure consumption meter (usage line items)."""

    name: str
    category: str
    subcategory: str
    region: str
    unit: str
    service: str  # ConsumedService
    resource_type: str  # provider/type segment of a ResourceURI
    usd_price_micro: int


METERS: tuple[Meter, ...] = (
    Meter(
        "D2 v3",
        "Virtual Machines",
        "Dv3 Series",
        "US East",
        "1 Hour",
        "Microsoft.Compute",
        "Microsoft.Compute/virtualMachines",
        96_000,
    ),
    Meter(
        "D4s v5",
        "Virtual Machines",
        "Dsv5 Series",
        "EU West",
        "1 Hour",
        "Microsoft.Compute",
        "Microsoft.Compute/virtualMachines",
        209_000,
    ),
    Meter(
        "B2ms",
        "Virtual Machines",
        "BS Series",
        "UK South",
        "1 Hour",
        "Microsoft.Compute",
        "Microsoft.Compute/virtualMachines",
        92_400,
    ),
    Meter(
        "P10 LRS Disk",
        "Storage",
        "Premium SSD Managed Disks",
        "EU West",
        "1/Month",
        "Microsoft.Compute",
        "Microsoft.Compute/disks",
        19_710_000,
    ),
    Meter(
        "Hot LRS Data Stored",
        "Storage",
        "Blob Storage",
        "US East",
        "1 GB/Month",
        "Microsoft.Storage",
        "Microsoft.Storage/storageAccounts",
        20_800,
    ),
    Meter(
        "Read Operations",
        "Storage",
        "Blob Storage",
        "Switzerland North",
        "10K",
        "Microsoft.Storage",
        "Microsoft.Storage/storageAccounts",
        4_400,
    ),
    Meter(
        "vCore",
        "SQL Database",
        "Single General Purpose - Compute Gen5",
        "EU North",
        "1 Hour",
        "Microsoft.Sql",
        "Microsoft.Sql/servers",
        252_000,
    ),
    Meter(
        "Standard Data Processed",
        "Bandwidth",
        "Inter-Region",
        "Intercontinental",
        "1 GB",
        "Microsoft.Network",
        "Microsoft.Network/publicIPAddresses",
        20_000,
    ),
    Meter(
        "Standard IPv4 Static Public IP",
        "Virtual Network",
        "IP Addresses",
        "Global",
        "1 Hour",
        "Microsoft.Network",
        "Microsoft.Network/publicIPAddresses",
        5_000,
    ),
    Meter(
        "Standard Instance",
        "Azure App Service",
        "Standard Plan",
        "Germany West Central",
        "1 Hour",
        "Microsoft.Web",
        "Microsoft.Web/serverFarms",
        100_000,
    ),
    Meter(
        "Data Ingestion",
        "Log Analytics",
        "Pay-as-you-go",
        "EU West",
        "1 GB",
        "Microsoft.OperationalInsights",
        "Microsoft.OperationalInsights/workspaces",
        2_760_000,
    ),
    Meter(
        "Standard Transactions",
        "Azure Monitor",
        "Alerts",
        "US West 2",
        "1K",
        "Microsoft.Insights",
        "Microsoft.Insights/components",
        100_000,
    ),
)

RESOURCE_GROUPS: tuple[str, ...] = (
    "rg-prod-web",
    "rg-prod-data",
    "rg-shared-network",
    "rg-dev",
    "rg-analytics",
    "rg-backup",
)
LOCATIONS: tuple[str, ...] = (
    "eastus",
    "westeurope",
    "uksouth",
    "switzerlandnorth",
    "northeurope",
    "germanywestcentral",
)
