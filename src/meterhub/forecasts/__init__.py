"""Install forecasts: the volume of installs a supplier predicts per month and CSP region."""
