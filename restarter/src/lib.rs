//! svc.startd
