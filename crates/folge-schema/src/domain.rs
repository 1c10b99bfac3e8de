//! The domain's closed code lists (`shared/data-contract.md`): service codes, study arms,
//! sexes and exit reasons, with their stored codes and Norwegian labels.

use crate::column::TextCode;

macro_rules! text_code {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = ($code:literal, $label:literal) ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $( $(#[$vmeta])* $variant ),* }

        impl TextCode for $name {
            const ALL: &'static [Self] = &[$( $name::$variant ),*];
            const CODES: &'static [&'static str] = &[$( $code ),*];
            fn code(self) -> &'static str {
                match self { $( $name::$variant => $code ),* }
            }
            // A match, not a search: it runs for every row of a registry extract.
            fn from_code(code: &str) -> Option<Self> {
                match code { $( $code => Some($name::$variant), )* _ => None }
            }
        }

        impl $name {
            /// The Norwegian (bokmål) label used in reports.
            pub fn label_nb(self) -> &'static str {
                match self { $( $name::$variant => $label ),* }
            }
            /// The stored code (also the English id).
            pub fn code(self) -> &'static str {
                TextCode::code(self)
            }
            /// Parse a stored code.
            pub fn parse(code: &str) -> Option<Self> {
                <Self as TextCode>::from_code(code)
            }
            /// Every stored code, comma-separated, for error messages.
            pub fn expected() -> String {
                let codes: Vec<&str> = Self::ALL.iter().map(|c| TextCode::code(*c)).collect();
                codes.join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(TextCode::code(*self))
            }
        }
    };
}

text_code! {
    /// A kind of health or care service contact, hospital or municipal.
    pub enum Service {
        /// Døgnopphold: an inpatient stay (has an end date).
        Inpatient = ("inpatient", "innleggelse (døgnopphold)"),
        /// Dagbehandling.
        DayTreatment = ("day_treatment", "dagbehandling"),
        /// Planned outpatient consultation.
        Outpatient = ("outpatient", "poliklinisk konsultasjon"),
        /// Emergency department visit without admission.
        HospitalEmergency = ("hospital_emergency", "akuttmottak uten innleggelse"),
        /// Out-of-hours emergency service (legevakt).
        OutOfHours = ("out_of_hours", "legevakt"),
        /// GP (fastlege) contact.
        Gp = ("gp", "fastlegekontakt"),
        /// Home nursing, quantity in hours.
        HomeNursing = ("home_nursing", "hjemmesykepleie"),
        /// Practical home help, quantity in hours.
        HomeHelp = ("home_help", "praktisk bistand"),
        /// Short-term institution stay (has an end date).
        ShortStay = ("short_stay", "korttidsopphold i institusjon"),
        /// Municipal acute bed (KAD/ØHD) stay.
        Kad = ("kad", "kommunal akutt døgnenhet"),
        /// Long-term nursing-home place.
        LongTermCare = ("long_term_care", "langtidsopphold"),
    }
}

impl Service {
    /// Services recorded as stays with an admission and a discharge date.
    pub fn is_stay(self) -> bool {
        matches!(
            self,
            Service::Inpatient | Service::ShortStay | Service::Kad | Service::LongTermCare
        )
    }
    /// Services whose `quantity` is hours.
    pub fn is_hours(self) -> bool {
        matches!(self, Service::HomeNursing | Service::HomeHelp)
    }
}

text_code! {
    /// The study arm a person belongs to.
    pub enum Arm {
        /// Received the pilot's coordinated care.
        Pilot = ("pilot", "pilot"),
        /// Comparison municipality or matched control.
        Comparison = ("comparison", "sammenligning"),
    }
}

text_code! {
    /// Legal sex as registered (`K` kvinne, `M` mann).
    pub enum Sex {
        /// Kvinne.
        Female = ("K", "kvinne"),
        /// Mann.
        Male = ("M", "mann"),
    }
}

text_code! {
    /// Why a person's follow-up ended before the end of data.
    pub enum ExitReason {
        /// Died.
        Death = ("death", "død"),
        /// Moved out of the area.
        Moved = ("moved", "flyttet"),
        /// Withdrew consent.
        Withdrew = ("withdrew", "trakk seg"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in <Service as TextCode>::ALL {
            assert_eq!(Service::parse(s.code()), Some(*s));
        }
        assert_eq!(Service::parse("Inpatient"), None, "codes are case-sensitive");
        assert_eq!(Sex::parse("K"), Some(Sex::Female));
        assert!(Service::expected().starts_with("inpatient, day_treatment"));
    }
}
