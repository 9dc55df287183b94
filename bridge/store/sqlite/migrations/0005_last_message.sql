-- The citizen's last WhatsApp message id, marked read (blue ticks, typing) when the bot or
-- an agent answers (issue #9). It embeds the phone number: erased with the conversation.
ALTER TABLE conversation ADD COLUMN last_wamid TEXT;
