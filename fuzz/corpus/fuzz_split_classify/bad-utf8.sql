SELECT 'Ã(' AS bad, 'ÿþ' AS worse, "í €";
