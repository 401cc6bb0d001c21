"""The sandbox: a stand-in for the Telegram Bot API plus a web page to chat with the bot.

`botapi.FakeBotApi` serves, over real HTTP, the Bot API methods the bot uses (with Telegram's
validation and error answers), the control API the page and the end-to-end test driver use to
play citizens and staff, and the page itself. Nothing in this package imports the bot, PTB or
the database: the bot must not be able to tell the sandbox from Telegram.
"""
