//! The word lists behind the synthetic register: first names, surnames, streets,
//! municipalities, schools, e-mail domains and case-note templates.
//!
//! Everything here is public knowledge (common Swedish names, real municipality codes,
//! postal-code areas and area codes); no combination of them describes a real person.
//! Lists are ordered roughly from most to least common, because the generator favours
//! early entries. Changing any list changes the generated output for every seed.

/// Common Swedish male first names (most common first).
#[rustfmt::skip]
pub(super) const MALE_FIRST_NAMES: &[&str] = &[
    "Lars", "Anders", "Johan", "Karl", "Per", "Erik", "Mikael", "Peter", "Jan", "Thomas",
    "Daniel", "Fredrik", "Hans", "Stefan", "Mats", "Magnus", "Andreas", "Bengt", "Nils",
    "Marcus", "Alexander", "Mattias", "Göran", "Jonas", "Martin", "Leif", "Sven", "Björn",
    "Oskar", "Gustav", "William", "Lucas", "Liam", "Elias", "Hugo", "Noah", "Adam", "Oliver",
    "Axel", "Viktor", "Filip", "Isak", "Ludvig", "Emil", "Anton", "Albin", "Leo", "Vincent",
    "Theo", "Olle", "Sixten", "Hampus", "Sebastian", "Simon", "Jakob", "Rasmus", "Robin",
    "Kent", "Åke", "Rolf", "Ulf", "Kjell", "Gunnar", "Ingvar", "Arne", "Roger", "Patrik",
    "Joakim", "Tobias", "Henrik", "Christer", "Love", "Melvin", "Otto", "Måns", "Jörgen",
    "Sören", "André", "Mohammed", "Ali", "Ahmed", "Omar", "Jan-Erik", "Bo",
];

/// Common Swedish female first names (most common first).
#[rustfmt::skip]
pub(super) const FEMALE_FIRST_NAMES: &[&str] = &[
    "Anna", "Eva", "Maria", "Karin", "Kristina", "Lena", "Sara", "Kerstin", "Emma", "Ingrid",
    "Marie", "Malin", "Jenny", "Hanna", "Linda", "Birgitta", "Annika", "Susanne", "Elin",
    "Monica", "Johanna", "Sofia", "Inger", "Ulla", "Carina", "Elisabeth", "Julia", "Ida",
    "Helena", "Camilla", "Linnéa", "Åsa", "Cecilia", "Ebba", "Alice", "Maja", "Elsa", "Astrid",
    "Wilma", "Freja", "Olivia", "Alma", "Vera", "Selma", "Saga", "Agnes", "Ella", "Stella",
    "Clara", "Signe", "Ellen", "Felicia", "Matilda", "Amanda", "Josefin", "Frida", "Therese",
    "Gunilla", "Margareta", "Britt", "Siv", "Solveig", "Märta", "Sigrid", "Ingela", "Anneli",
    "Lovisa", "Moa", "Tove", "Nora", "Elvira", "Fatima", "Amira", "Leila", "Anna-Karin",
    "Renée",
];

/// Common Swedish surnames (most common first).
#[rustfmt::skip]
pub(super) const SURNAMES: &[&str] = &[
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson",
    "Jönsson", "Lindberg", "Jakobsson", "Magnusson", "Olofsson", "Lindström", "Lindqvist",
    "Lindgren", "Berg", "Axelsson", "Bergström", "Lundberg", "Lind", "Lundgren", "Lundqvist",
    "Mattsson", "Berglund", "Fredriksson", "Sandberg", "Henriksson", "Forsberg", "Sjöberg",
    "Wallin", "Ali", "Engström", "Mohamed", "Eklund", "Danielsson", "Lundin", "Håkansson",
    "Björk", "Bergman", "Gunnarsson", "Holm", "Wikström", "Samuelsson", "Isaksson", "Fransson",
    "Bergqvist", "Nyström", "Holmberg", "Arvidsson", "Löfgren", "Söderberg", "Nyberg",
    "Blomqvist", "Claesson", "Nordström", "Mårtensson", "Lundström", "Ahmed", "Viklund",
    "Björklund", "Eliasson", "Pålsson", "Hassan", "Berggren", "Sandström", "Lund", "Nordin",
    "Ström", "Åberg", "Hermansson", "Ekström", "Holmgren", "Sundberg", "Hedlund", "Dahlberg",
    "Hellström", "Sjögren", "Abrahamsson", "Falk", "Öberg", "Andreasson", "Ek", "Blom",
    "Månsson", "Strand", "Backman", "Bäckström", "Åkesson", "Ståhl", "Lindahl-Berg",
];

/// A municipality (kommun) with its main postal town.
pub(super) struct Municipality {
    /// Postal town written in the `city` column.
    pub(super) city: &'static str,
    /// Four-digit kommunkod.
    pub(super) code: &'static str,
    /// Population in thousands (the sampling weight).
    pub(super) population_k: u32,
    /// Inclusive range of the first three postal-code digits used in the town.
    pub(super) postal: (u16, u16),
    /// Landline area code without the leading zero.
    pub(super) area_code: &'static str,
}

const fn m(
    city: &'static str,
    code: &'static str,
    population_k: u32,
    postal: (u16, u16),
    area_code: &'static str,
) -> Municipality {
    Municipality {
        city,
        code,
        population_k,
        postal,
        area_code,
    }
}

/// Real municipalities, weighted by (approximate) population.
pub(super) const MUNICIPALITIES: &[Municipality] = &[
    m("Stockholm", "0180", 989, (111, 129), "8"),
    m("Göteborg", "1480", 604, (411, 427), "31"),
    m("Malmö", "1280", 362, (211, 218), "40"),
    m("Uppsala", "0380", 247, (751, 757), "18"),
    m("Linköping", "0580", 167, (582, 589), "13"),
    m("Örebro", "1880", 159, (702, 703), "19"),
    m("Västerås", "1980", 158, (721, 725), "21"),
    m("Helsingborg", "1283", 151, (251, 256), "42"),
    m("Jönköping", "0680", 146, (553, 556), "36"),
    m("Norrköping", "0581", 145, (602, 603), "11"),
    m("Umeå", "2480", 131, (903, 907), "90"),
    m("Lund", "1281", 129, (222, 227), "46"),
    m("Huddinge", "0126", 115, (141, 141), "8"),
    m("Borås", "1490", 115, (503, 507), "33"),
    m("Nacka", "0182", 109, (131, 132), "8"),
    m("Eskilstuna", "0484", 108, (632, 635), "16"),
    m("Halmstad", "1380", 106, (302, 305), "35"),
    m("Gävle", "2180", 103, (802, 806), "26"),
    m("Södertälje", "0181", 102, (151, 152), "8"),
    m("Sundsvall", "2281", 99, (852, 856), "60"),
    m("Växjö", "0780", 97, (352, 355), "470"),
    m("Haninge", "0136", 97, (136, 137), "8"),
    m("Karlstad", "1780", 96, (652, 656), "54"),
    m("Botkyrka", "0127", 96, (145, 147), "8"),
    m("Kristianstad", "1290", 87, (291, 291), "44"),
    m("Kungsbacka", "1384", 86, (434, 434), "300"),
    m("Solna", "0184", 86, (169, 171), "8"),
    m("Järfälla", "0123", 85, (175, 177), "8"),
    m("Luleå", "2580", 80, (972, 975), "920"),
    m("Sollentuna", "0163", 76, (191, 192), "8"),
    m("Skellefteå", "2482", 76, (931, 931), "910"),
    m("Täby", "0160", 75, (183, 187), "8"),
    m("Kalmar", "0880", 72, (392, 393), "480"),
    m("Mölndal", "1481", 70, (431, 431), "31"),
    m("Varberg", "1383", 67, (432, 432), "340"),
    m("Karlskrona", "1080", 67, (371, 371), "455"),
    m("Östersund", "2380", 65, (831, 832), "63"),
    m("Norrtälje", "0188", 64, (761, 761), "176"),
    m("Visby", "0980", 61, (621, 621), "498"),
    m("Trollhättan", "1488", 60, (461, 462), "520"),
    m("Falun", "2080", 59, (791, 791), "23"),
    m("Skövde", "1496", 58, (541, 541), "500"),
    m("Nyköping", "0480", 58, (611, 611), "155"),
    m("Uddevalla", "1485", 57, (451, 451), "522"),
    m("Örnsköldsvik", "2284", 56, (891, 891), "660"),
    m("Borlänge", "2081", 53, (781, 784), "243"),
    m("Hässleholm", "1293", 53, (281, 281), "451"),
    m("Trelleborg", "1287", 47, (231, 231), "410"),
    m("Landskrona", "1282", 46, (261, 261), "418"),
    m("Motala", "0583", 44, (591, 591), "141"),
    m("Piteå", "2581", 42, (941, 941), "911"),
    m("Kiruna", "2584", 22, (981, 981), "980"),
];

/// Whole street names that are not built from a prefix and a suffix.
#[rustfmt::skip]
pub(super) const STREETS: &[&str] = &[
    "Storgatan", "Kungsgatan", "Drottninggatan", "Järnvägsgatan", "Nygatan", "Skolgatan",
    "Kyrkogatan", "Torggatan", "Västra Vägen", "Östra Långgatan", "Sveavägen", "Götgatan",
    "Hornsgatan", "Vasagatan", "Linnégatan", "Södra Förstadsgatan", "Norra Allén",
    "Stora Nygatan", "Lilla Torg", "Prästgårdsgatan", "Gamla Landsvägen", "Villavägen",
];

/// First halves of compound street names.
#[rustfmt::skip]
pub(super) const STREET_PREFIXES: &[&str] = &[
    "Björk", "Ek", "Lind", "Gran", "Tall", "Rönn", "Asp", "Hassel", "Sjö", "Berg", "Skogs",
    "Ängs", "Blåbärs", "Lingon", "Vallmo", "Klöver", "Syren", "Ros", "Lilje", "Tulpan",
    "Smedje", "Kvarn", "Park", "Stations", "Hamn", "Strand", "Fabriks", "Bruks", "Sol",
    "Vinter", "Höst", "Vår", "Sommar", "Älg", "Räv", "Hjort", "Falk", "Örn", "Trast", "Lärk",
    "Mjölnar", "Kastanj", "Fläder", "Hägg", "Mås", "Svan", "Mosse", "Åker",
];

/// Second halves of compound street names.
#[rustfmt::skip]
pub(super) const STREET_SUFFIXES: &[&str] = &[
    "vägen", "gatan", "stigen", "gränd", "backen", "allén", "slingan", "gången", "liden",
];

/// Compulsory schools (ages 6–15).
#[rustfmt::skip]
pub(super) const PRIMARY_SCHOOLS: &[&str] = &[
    "Björkskolan", "Centralskolan", "Ekskolan", "Lindskolan", "Backaskolan", "Sjöskolan",
    "Ängsskolan", "Vasaskolan", "Tallbackaskolan", "Rönnskolan", "Solbergaskolan", "Hagaskolan",
    "Kyrkskolan", "Norrskolan", "Söderskolan", "Västerskolan", "Österskolan", "Bergsskolan",
    "Strandskolan", "Skogsbackens skola", "Fridhemsskolan", "Brunnsbo skola", "Ekebyskolan",
    "Kvarnskolan", "Möllevångsskolan", "Engelbrektsskolan", "Kunskapsskolan",
    "Internationella Engelska Skolan", "Montessoriskolan Näktergalen", "Äppelgårdens skola",
];

/// Upper-secondary schools (ages 16–18).
#[rustfmt::skip]
pub(super) const UPPER_SCHOOLS: &[&str] = &[
    "Katedralskolan", "Polhemsgymnasiet", "Spyken", "Rudbecksskolan", "Procivitas",
    "NTI Gymnasiet", "Hvitfeldtska gymnasiet", "Norra Real", "Södra Latin",
    "Blackebergs gymnasium", "Rosendalsgymnasiet", "Minervagymnasiet",
    "Anders Ljungstedts gymnasium", "Thorildsplans gymnasium", "Värmdö gymnasium",
];

/// E-mail domains with weights. The special domain `@kommun` is replaced by the
/// person's municipality (`goteborg.se`, `malmo.se`, `orebro.se`, ...).
pub(super) const EMAIL_DOMAINS: &[(&str, u32)] = &[
    ("gmail.com", 34),
    ("hotmail.com", 15),
    ("outlook.com", 10),
    ("icloud.com", 10),
    ("telia.com", 8),
    ("live.se", 6),
    ("yahoo.se", 4),
    ("bredband.net", 3),
    ("comhem.se", 3),
    ("@kommun", 7),
];

/// Mobile prefixes (after the leading zero) with weights.
pub(super) const MOBILE_PREFIXES: &[(&str, u32)] =
    &[("70", 35), ("72", 20), ("73", 25), ("76", 15), ("79", 5)];

/// Ordinary case notes. Placeholders: `{f}` first name, `{d}` a date near the reference
/// date, `{s}` a school name.
pub(super) const NOTES: &[&str] = &[
    "Ansökan om bostadsbidrag inkommen.",
    "Flyttanmälan registrerad, ny adress kontrollerad.",
    "Begäran om registerutdrag enligt artikel 15, besvarad inom en månad.",
    "Vårdnadshavare informerad om beslutet.",
    "Ärendet avslutat utan åtgärd.",
    "Komplettering begärd, svar senast {d}.",
    "Hembesök genomfört, inga anmärkningar.",
    "Ansökan om plats i förskola, önskat startdatum {d}.",
    "Byte av skola till {s} beviljat.",
    "Samtal med {f} om studieval, uppföljning i vår.",
    "Överklagande inkommet, skickat till förvaltningsrätten.",
    "Uppgifter rättade efter begäran, se bilaga.",
    "Sökande uppger \"akut behov\" av plats.",
    "Beslut om färdtjänst, giltigt till {d}.",
    "Faktura skickad, påminnelse vid utebliven betalning.",
    "Ansökan om ekonomiskt bistånd avslagen, motivering bifogad.",
    "Kontakt via e-tjänst, ärendet vidarebefordrat till socialtjänsten.",
    "Tolk behövs vid möte, språk: arabiska.",
    "Ny kontaktperson utsedd, se journal.",
    "Skolskjuts beviljad, hämtning kl. 07.40.",
    "Läkarintyg inkommet, sjukskrivning till {d}.",
    "Inget svar på brev, nytt försök skickas {d}.",
    "Hyresavtal uppvisat; ärendet klart.",
    "Önskar besked via \"digital brevlåda\".",
    "Möte bokat {d} med {f} och handläggare.",
    "Återbetalning beviljad",
    "Anmälan om frånvaro från {s}, åtgärdsprogram upprättat.",
    "Samtycke till informationsdelning lämnat.",
];

/// Case notes that repeat the person's phone number as written (`{p}`).
pub(super) const PHONE_LEAK_NOTES: &[&str] = &[
    "Ring tillbaka på {p} angående ansökan.",
    "Nås på {p}, helst efter kl. 16.",
    "Sms:a bokningsbekräftelse till {p}.",
    "{f} vill bli uppringd på {p} före {d}.",
];

/// Case notes that repeat the person's e-mail address as written (`{e}`).
pub(super) const EMAIL_LEAK_NOTES: &[&str] = &[
    "Mejla beslutet till {e}.",
    "Kopia skickad till {e}, inte till folkbokföringsadressen.",
    "Kontaktuppgift: {e}",
    "{f} önskar svar via e-post ({e}).",
];
