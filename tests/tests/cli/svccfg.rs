//! svccfg import, export, delete, listprop and setprop against a running svc.startd.
