"""MPP (the `Payment` HTTP authentication scheme): 402 challenges, credential checks, receipts."""
