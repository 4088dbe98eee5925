"""The stock transfer marketplace (MP140): parties pass excess Communications Hub stock to each
other instead of returning it to the DCC. A holder lists stock, others request units, one
published and versioned rule allocates them, the sender dispatches and the receiver confirms
receipt with the GUIDs it received; custody and the stock charge move on the receipt day."""
